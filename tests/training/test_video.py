"""Video -> pose -> virtual IMU: the MediaPipe graph pieces, the skeleton on the grid, chapters, checks, and the
whole path from a real clip to a dataset and through the CLI.

The model-free parts run on numbers made here. The real clip is ``tests/fixtures/video/`` (3.3 s cut from
Pose2Sim's demo, BSD-3, see the license file there). The parts that need MediaPipe's models are skipped with the
reason when they are not in the cache (``make video-assets`` extracts them from the downloaded wheel).
"""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.constants import H36M_JOINTS, HOP, RATE_HZ, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.training.video.blazepose import (
    N_ANCHORS,
    ROI_SCALE,
    Roi,
    alignment_roi,
    decode_detections,
    sample_square,
    ssd_anchors,
    weighted_nms,
)
from mujo_edge.training.video.build import _windows, chapter_index
from mujo_edge.training.video.chapters import normalize_title, parse_chapters
from mujo_edge.training.video.quality import bone_cv, procrustes, stillest_stretch, view_agreement
from mujo_edge.training.video.skeleton import (
    CAMERA_TO_Z_UP,
    PoseRun,
    constant_bones,
    landmarks_to_h36m,
    split_runs,
    to_grid,
)

J = {n: i for i, n in enumerate(H36M_JOINTS)}


# --- detector: anchors, decoding, NMS, region of interest ------------------------------------------------
def test_anchors_match_the_detector_output_and_layout():
    a = ssd_anchors()
    assert a.shape == (N_ANCHORS, 2)
    # 28x28 cells x 2 anchors at stride 8, 14x14 x 2 at 16, 7x7 x 6 for the three stride-32 layers
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(a[1568 + 392 : 1568 + 392 + 6], np.tile([0.5 / 7, 0.5 / 7], (6, 1)))
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_decode_and_weighted_nms():
    anchors = ssd_anchors()
    raw = np.zeros((N_ANCHORS, 12))
    logits = np.full(N_ANCHORS, -10.0)
    # anchor 100 and its twin 101: a box 44.8 px (0.2) wide around the anchor, shifted right by 22.4 px (0.1)
    for i, (score_logit, dx) in zip((100, 101), ((3.0, 22.4), (1.0, 22.4 + 11.2)), strict=True):
        raw[i, :4] = [dx, 0.0, 44.8, 44.8]
        raw[i, 4:6] = [0.0, 22.4]  # keypoint 0 half a box below the anchor
        logits[i] = score_logit
    logits[2000] = 2.0  # far away: its own cluster
    scores, boxes, kps = decode_detections(raw, logits, anchors)
    assert scores.size == 3
    np.testing.assert_allclose(scores[0], 1 / (1 + math.exp(-3.0)))
    cx = anchors[100, 0] + 0.1
    np.testing.assert_allclose(boxes[0], [cx - 0.1, anchors[100, 1] - 0.1, cx + 0.1, anchors[100, 1] + 0.1])
    np.testing.assert_allclose(kps[0, 0], [anchors[100, 0], anchors[100, 1] + 0.1])
    merged = weighted_nms(scores, boxes, kps)
    assert len(merged) == 2
    s0, s1 = 1 / (1 + math.exp(-3.0)), 1 / (1 + math.exp(-1.0))
    w = s1 / (s0 + s1)
    assert merged[0][0] == pytest.approx(s0)
    np.testing.assert_allclose(merged[0][1][0], cx - 0.1 + w * 0.05)  # the twin sat 0.05 further right


def test_alignment_roi_size_and_rotation():
    upright = alignment_roi(np.array([100.0, 200.0]), np.array([100.0, 100.0]))
    assert upright.rotation_rad == pytest.approx(0.0)
    assert upright.size_px == pytest.approx(2 * 100 * ROI_SCALE)
    assert (upright.cx_px, upright.cy_px) == (100.0, 200.0)
    lying = alignment_roi(np.array([100.0, 200.0]), np.array([150.0, 200.0]))  # body axis to the right
    assert lying.rotation_rad == pytest.approx(math.pi / 2)
    # the square's top centre (0.5, 0) lies towards the scale point
    np.testing.assert_allclose(lying.to_image(np.array([0.5, 0.0])), [100 + lying.size_px / 2, 200.0])
    np.testing.assert_allclose(upright.to_image(np.array([0.5, 0.0])), [100.0, 200 - upright.size_px / 2])


def test_sample_square_reads_the_pixels_the_projection_points_to():
    h, w = 60, 80
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([xx * 3, yy * 4, np.full_like(xx, 7)], axis=-1).astype(np.uint8)
    roi = Roi(40.0, 30.0, 32.0, math.radians(30))
    crop = sample_square(image, roi, 16)
    # pixel (u, v) of the crop samples the frame at roi.to_image((u + 0.5) / 16, (v + 0.5) / 16) - 0.5
    for u, v in ((0, 0), (5, 11), (15, 15)):
        x, y = roi.to_image(np.array([(u + 0.5) / 16, (v + 0.5) / 16])) - 0.5
        assert crop[v, u, 0] * 255 == pytest.approx(3 * x, abs=1e-3)
        assert crop[v, u, 1] * 255 == pytest.approx(4 * y, abs=1e-3)
    letterbox = sample_square(image, Roi(40.0, 30.0, 80.0, 0.0), 8, border="zero")
    assert letterbox[0].max() == 0.0 and letterbox[-1].max() == 0.0  # above and below the 80x60 frame: black
    assert letterbox[4, 4, 2] * 255 == pytest.approx(7.0, abs=1e-3)


# --- skeleton -------------------------------------------------------------------------------------------
def _landmarks(t: int = 1) -> np.ndarray:
    """A standing person as MediaPipe world landmarks (camera orientation: x right, y down, z away), (t, 33, 3)."""
    lm = np.zeros((33, 3))
    lm[23], lm[24] = [0.1, 0, 0], [-0.1, 0, 0]  # subject's left hip on the image's right: facing the camera
    lm[25], lm[26] = [0.1, 0.45, 0], [-0.1, 0.45, 0]
    lm[27], lm[28] = [0.1, 0.9, 0], [-0.1, 0.9, 0]
    lm[11], lm[12] = [0.18, -0.5, 0], [-0.18, -0.5, 0]
    lm[13], lm[14] = [0.2, -0.21, 0], [-0.2, -0.21, 0]
    lm[15], lm[16] = [0.2, 0.05, -0.1], [-0.2, 0.05, -0.1]
    lm[7], lm[8] = [0.07, -0.72, 0.02], [-0.07, -0.72, 0.02]
    return np.repeat(lm[None], t, axis=0)


def test_landmarks_to_h36m_mapping_and_z_up():
    pose = landmarks_to_h36m(_landmarks())[0]
    np.testing.assert_allclose(pose[J["hip"]], 0.0)
    # camera y down -> z up; camera x right -> y = -x; camera z (away) -> x
    np.testing.assert_allclose(pose[J["l_ankle"]], [0.0, -0.1, -0.9])
    np.testing.assert_allclose(pose[J["thorax"]], [0.0, 0.0, 0.5])
    np.testing.assert_allclose(pose[J["spine"]], [0.0, 0.0, 0.25])
    np.testing.assert_allclose(pose[J["head"]], [0.02, 0.0, 0.72])
    np.testing.assert_allclose(pose[J["neck"]], [0.01, 0.0, 0.61])
    np.testing.assert_allclose(pose[J["r_wrist"]], [-0.1, 0.2, -0.05])
    assert np.linalg.det(CAMERA_TO_Z_UP) == pytest.approx(1.0)  # a rotation, not a mirror
    with pytest.raises(DataError, match=r"\(\.\.\., 33, 3\)"):
        landmarks_to_h36m(np.zeros((5, 17, 3)))


def test_constant_bones_fixes_lengths_and_keeps_directions():
    rng = np.random.default_rng(0)
    base = landmarks_to_h36m(_landmarks(200))
    noisy = base + rng.normal(0, 0.02, base.shape)
    noisy[7] = np.nan
    fixed = constant_bones(noisy)
    assert np.isnan(fixed[7]).all()
    ok = np.isfinite(fixed).all(axis=(1, 2))
    assert max(bone_cv(noisy[ok]).values()) > 0.05
    assert max(bone_cv(fixed[ok]).values()) < 1e-9
    d_old = noisy[ok, J["l_wrist"]] - noisy[ok, J["l_elbow"]]
    d_new = fixed[ok, J["l_wrist"]] - fixed[ok, J["l_elbow"]]
    cos = (d_old * d_new).sum(-1) / np.linalg.norm(d_old, axis=-1) / np.linalg.norm(d_new, axis=-1)
    assert cos.min() > 1 - 1e-9


def test_to_grid_resamples_variable_rate_fills_short_dropouts_and_splits_at_long_ones():
    rng = np.random.default_rng(1)
    t = np.cumsum(np.r_[0.0, rng.uniform(0.025, 0.042, 299)])  # 24-40 fps, variable
    pose = np.repeat(landmarks_to_h36m(_landmarks())[:], t.size, axis=0)
    pose[:, :, 0] += (0.2 * t)[:, None]  # everything moves at 0.2 m/s along x
    short = (t > 2.0) & (t < 2.15)  # 0.15 s: bridged
    long = (t > 5.0) & (t < 6.0)  # 1 s: a gap
    pose[short | long] = np.nan
    runs = to_grid(t, pose, smooth_hz=None, fixed_bones=False)
    assert len(runs) == 2
    first, second = runs
    assert first.t_s[0] == pytest.approx(t[0]) and first.t_s[-1] <= 5.0
    assert second.t_s[0] >= 6.0
    np.testing.assert_allclose(np.diff(first.t_s), 1 / RATE_HZ, atol=1e-9)
    np.testing.assert_allclose(first.pose_m[:, J["hip"], 0], 0.2 * first.t_s, atol=1e-4)
    inside = (first.t_s > 2.05) & (first.t_s < 2.1)
    assert first.filled[inside].all() and not first.filled[first.t_s < 1.9].any()
    # no window of either run spans the long gap
    for r in runs:
        for k in _windows(r, 0.0, 100.0):
            assert not ((r.t_s[k] < 5.0) and (r.t_s[k + WINDOW - 1] > 6.0))


def test_split_runs():
    t = np.arange(20) * 0.1
    found = np.ones(20, bool)
    found[[3, 10, 11, 12, 13]] = False
    assert split_runs(t, found, max_fill_s=0.25) == [(0, 9), (14, 19)]
    assert split_runs(t, np.zeros(20, bool)) == []
    other = np.zeros(20, bool)
    other[6] = True  # someone else picked up at frame 6
    assert split_runs(t, found, max_fill_s=0.25, new_person=other) == [(0, 5), (6, 9), (14, 19)]


def test_windows_respect_trim_and_hop():
    run = PoseRun(np.arange(400) / RATE_HZ + 1.0, np.zeros((400, 17, 3), np.float32), np.zeros(400, bool))
    assert _windows(run, 0.0, 100.0) == list(range(0, 400 - WINDOW + 1, HOP))
    ks = _windows(run, 2.0, 7.0)
    assert ks == [50, 100, 150, 200]
    assert all(run.t_s[k] >= 2.0 and run.t_s[k + WINDOW - 1] <= 7.0 for k in ks)


# --- chapters -------------------------------------------------------------------------------------------
def test_chapters_parse_and_normalize():
    ch = parse_chapters(
        "# my workout\n0:00 Warm-up\n\n1:35 - Squats with dumbbells\n(4:10) 3x12 Lunges (L/R)\n1:02:03 | Cool down!\n"
    )
    assert [c.start_s for c in ch] == [0.0, 95.0, 250.0, 3723.0]
    assert [c.label for c in ch] == ["warm up", "squats dumbbells", "lunges left right", "cool down"]
    assert [c.line for c in ch] == [2, 4, 5, 6]
    assert ch[2].title == "3x12 Lunges (L/R)"
    assert normalize_title("Round 2: DB Curls x 12 reps!") == "round dumbbell curls repetitions"
    np.testing.assert_array_equal(
        chapter_index(np.array([-1.0, 0.0, 94.9, 95.0, 5000.0]), ch), [-1, 0, 0, 1, 3]
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0:00 Warm-up\nSquats at one minute\n", r"line 2: 'Squats at one minute' is not a chapter line"),
        ("0:00 Warm-up\n1:75 Squats\n", r"line 2: '1:75' is not a time"),
        (
            "0:00 Warm-up\n2:00 Squats\n1:00 Lunges\n",
            r"line 3: 1:00 does not come after the previous chapter",
        ),
        ("0:00\n", r"line 1: the chapter at 0:00 has no title"),
        ("0:00 !!!\n", r"line 1: the title '!!!' has no letters"),
        ("# nothing\n\n", r"no chapters found"),
    ],
)
def test_chapter_errors_name_the_line(text, match):
    with pytest.raises(DataError, match=match):
        parse_chapters(text, "w.txt")


# --- checks ---------------------------------------------------------------------------------------------
def test_procrustes_and_view_agreement():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(30, 17, 3))
    th = 0.7
    r = np.array([[math.cos(th), -math.sin(th), 0], [math.sin(th), math.cos(th), 0], [0, 0, 1]])
    b = a @ r.T + np.array([1.0, -2.0, 0.5])
    aligned, k = procrustes(a.reshape(-1, 3), b.reshape(-1, 3))
    assert k == pytest.approx(1.0)
    np.testing.assert_allclose(aligned, a.reshape(-1, 3), atol=1e-9)
    noisy = b + rng.normal(0, 0.01, b.shape)
    agr = view_agreement(a, noisy)
    assert agr["frames"] == 30
    assert 10 < agr["sequence_mm"] < 20  # 1 cm per axis -> about 16 mm per joint
    assert agr["per_frame_mm"] < agr["sequence_mm"]


def test_stillest_stretch_finds_the_still_second():
    t = np.arange(300) / RATE_HZ
    pose = np.zeros((300, 17, 3))
    pose[:, J["l_wrist"], 0] = 0.2 * np.sin(2 * np.pi * t)
    pose[120:200, J["l_wrist"], 0] = pose[120, J["l_wrist"], 0]
    s = stillest_stretch(pose, J["l_wrist"])
    assert 120 <= s <= 150


# --- real clip: decoding, the pose models, the dataset, the CLI -----------------------------------------
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "video" / "pose2sim_cam01_pingpong.mp4"


def _encode(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for the sentence encoder (the real one is tested in test_text.py)."""
    rows = [np.frombuffer(hashlib.sha256(t.encode()).digest() * 12, dtype=np.uint8)[:384] for t in texts]
    return np.stack(rows).astype(np.float32)


@pytest.fixture(scope="module")
def models() -> tuple[Path, Path]:
    pytest.importorskip("av", reason="PyAV (the video extra) is not installed")
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed")
    from mujo_edge.training.video import assets

    try:
        return assets.pose_models(download=False)
    except DataError as e:
        pytest.skip(f"pose models not in the cache: {e}")


@pytest.fixture(scope="module")
def fixture_track(models):  # type: ignore[no-untyped-def]
    from mujo_edge.training.video.blazepose import PoseEstimator
    from mujo_edge.training.video.build import track_video

    return track_video(FIXTURE, PoseEstimator(*models))


def _write_clip(path: Path, n: int = 20, size: int = 64, rate: int = 25) -> Path:
    """A short black clip (nobody in it)."""
    av = pytest.importorskip("av", reason="PyAV (the video extra) is not installed")
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = size, size, "yuv420p"
        for i in range(n):
            f = av.VideoFrame.from_ndarray(np.zeros((size, size, 3), np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, rate)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def test_decode_keeps_the_timestamps_of_a_variable_rate_clip():
    pytest.importorskip("av", reason="PyAV (the video extra) is not installed")
    from mujo_edge.training.video.decode import decoded_size, frames, probe

    info = probe(FIXTURE)
    assert (info.width_px, info.height_px, info.n_frames, info.codec) == (240, 426, 67, "h264")
    got = list(frames(FIXTURE))
    t = np.array([x[0] for x in got])
    assert t.size == 67 and got[0][1].shape == (426, 240, 3) and got[0][1].dtype == np.uint8
    dt = np.diff(t)
    assert (dt > 0).all() and dt.min() < 0.045 and dt.max() > 0.055  # 40-60 ms apart, not one fixed rate
    assert t[-1] == pytest.approx(3.32, abs=0.02)
    assert decoded_size(1920, 1080) == (960, 540) and decoded_size(240, 426) == (240, 426)


def test_unreadable_files_and_chapter_files_raise_clear_errors(tmp_path: Path):
    pytest.importorskip("av", reason="PyAV (the video extra) is not installed")
    from mujo_edge.training.video.chapters import read_chapters
    from mujo_edge.training.video.decode import frames, probe

    with pytest.raises(DataError, match="no such file"):
        probe(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(DataError, match="not a readable video"):
        probe(junk)
    with pytest.raises(DataError, match="not a readable video"):
        list(frames(junk))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(FIXTURE.read_bytes()[:2000])  # the header and hardly any data
    with pytest.raises(DataError, match=str(cut.name)):
        list(frames(cut))
    with pytest.raises(DataError, match="no such chapter file"):
        read_chapters(tmp_path / "none.txt")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("0:00 \xc9chauffement\n".encode("latin-1"))
    with pytest.raises(DataError, match="Save it as UTF-8"):
        read_chapters(latin)


def test_pose_on_the_real_clip(fixture_track):
    tr = fixture_track
    assert tr.t_s.size == 67 and tr.found.mean() >= 0.9 and not tr.new_person.any()
    assert tr.frames_per_s > 0 and tr.cpu_s > 0 and tr.detections >= 1
    pose = landmarks_to_h36m(tr.world_m[tr.found])
    # z up: the head above the hips, the ankles below, by a standing man's proportions
    assert np.median(pose[:, J["head"], 2]) > 0.4
    assert np.median(pose[:, J["l_ankle"], 2]) < -0.6 and np.median(pose[:, J["r_ankle"], 2]) < -0.6
    assert 0.15 < np.median(np.linalg.norm(pose[:, J["l_wrist"]] - pose[:, J["l_elbow"]], axis=-1)) < 0.35
    runs = to_grid(tr.t_s, landmarks_to_h36m(tr.world_m))
    assert len(runs) == 1 and runs[0].t_s.size == 167  # 3.32 s on the 50 Hz grid
    assert max(bone_cv(runs[0].pose_m).values()) < 1e-5


def test_video_to_dataset_from_the_real_clip(tmp_path: Path, fixture_track):
    from mujo_edge.training.video.build import video_to_dataset
    from mujo_edge.training.video.chapters import parse_chapters

    ds = video_to_dataset(
        [FIXTURE], tmp_path / "both", label="Arm swings", wrist="both", tracks=[fixture_track], encode=_encode
    )
    # 3.32 s: windows at 0 and 1 s, for each wrist
    assert len(ds) == 4 and ds.acc.shape == (4, WINDOW, 3) and ds.pose.shape == (4, WINDOW, 17, 3)
    assert ds.labels == ["arm swings"] and sorted(set(ds.recording.tolist())) == [0, 1]
    assert ds.text is not None and ds.text.shape == (1, 384) and (np.asarray(ds.text_id) == 0).all()
    # the wrists read about 1 g on average: gravity plus the swing, no runaway double derivative
    assert 0.8 < float(np.linalg.norm(ds.acc, axis=-1).mean()) < 1.5
    m = ds.manifest
    video = m["videos"][0]
    assert video["sha256"] == hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert video["found_fraction"] >= 0.9 and video["windows"] == 4 and video["wrists"] == ["left", "right"]
    assert set(m["pose_models"]) == {"detector", "landmarks"}
    assert all(len(v["sha256"]) == 64 for v in m["pose_models"].values())
    # chapters label the windows by the chapter they mostly lie in; their titles are normalized
    ch = parse_chapters("0:00 Warm-up\n0:01 DB arm swings (L/R)\n")
    ds = video_to_dataset([FIXTURE], tmp_path / "ch", chapters=[ch], tracks=[fixture_track], encode=_encode)
    assert [ds.labels[i] for i in ds.label] == ["warm up", "dumbbell arm swings left right"]
    assert ds.manifest["videos"][0]["chapters"][1]["title"] == "DB arm swings (L/R)"
    with pytest.raises(DataError, match="after trimming 15 %"):
        video_to_dataset(
            [FIXTURE], tmp_path / "t", label="x", trim=True, tracks=[fixture_track], encode=_encode
        )
    with pytest.raises(DataError, match="already holds a dataset"):
        video_to_dataset([FIXTURE], tmp_path / "ch", label="x", tracks=[fixture_track], encode=_encode)
    with pytest.raises(DataError, match="one chapter file per video"):
        video_to_dataset([FIXTURE], tmp_path / "y", chapters=[ch, ch], encode=_encode)
    with pytest.raises(DataError, match="wrist must be"):
        video_to_dataset([FIXTURE], tmp_path / "y", label="x", wrist="neck", encode=_encode)  # type: ignore[arg-type]


def test_no_person_found_is_an_error(tmp_path: Path, models):
    from mujo_edge.training.video.build import video_to_dataset

    black = _write_clip(tmp_path / "black.mp4")
    with pytest.raises(DataError, match=r"black.mp4: no person found \(0 of 20 frames\)"):
        video_to_dataset([black], tmp_path / "out", label="x", encode=_encode)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_cli_video_to_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models):
    from mujo_edge.cli import main
    from mujo_edge.training import text
    from mujo_edge.training.data.format import Dataset

    monkeypatch.setattr(text, "encode_texts", _encode)
    out = tmp_path / "ds"
    assert (
        main(["data", "video", str(FIXTURE), "--out", str(out), "--label", "arm swings", "--wrist", "right"])
        == 0
    )
    ds = Dataset.open(out, verify=True)
    assert len(ds) == 2 and ds.manifest["videos"][0]["pose_frames_per_s"] > 0
    bad = tmp_path / "bad.txt"
    bad.write_text("0:00 Warm-up\nsquats\n")
    assert main(["data", "video", str(FIXTURE), "--out", str(tmp_path / "x"), "--chapters", str(bad)]) == 2
    assert not (tmp_path / "x").exists()
    assert (
        main(["data", "video", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "y"), "--label", "x"]) == 2
    )
