"""The synthetic generator: activities, scripted workouts, and the corpus written in the dataset format."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.constants import H36M_JOINTS, HOP, WINDOW
from mujo_edge.errors import DataError
from mujo_edge.training.data import Dataset
from mujo_edge.training.synth import (
    ACTIVITIES,
    EXERCISES,
    MMFIT_NAMES,
    NON_ACTIVITY,
    SEGLEARN_NAMES,
    SensorModel,
    parse_script,
    simulate_workout,
)
from mujo_edge.training.synth.corpus import SYNTH_SUBJECT_BASE, generate_corpus
from mujo_edge.training.synth.text import activity_texts
from mujo_edge.training.synth.workout import KINDS

J = {n: i for i, n in enumerate(H36M_JOINTS)}
BONES = [
    ("r_hip", "r_knee"),
    ("r_knee", "r_ankle"),
    ("l_elbow", "l_wrist"),
    ("r_shoulder", "r_elbow"),
    ("hip", "spine"),
    ("neck", "head"),
]


def _fake_encode(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in for the sentence encoder (the real one is tested in test_text.py)."""
    out = np.stack(
        [np.frombuffer(hashlib.sha256(t.encode()).digest() * 12, dtype=np.uint8)[:384] for t in texts]
    )
    out = out.astype(np.float32) - 127.5
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_activity_catalogue_covers_mmfit_seglearn_and_more() -> None:
    assert set(MMFIT_NAMES) == {
        "squats",
        "lunges",
        "bicep_curls",
        "situps",
        "pushups",
        "tricep_extensions",
        "dumbbell_rows",
        "jumping_jacks",
        "dumbbell_shoulder_press",
        "lateral_shoulder_raises",
    }
    assert list(SEGLEARN_NAMES) == ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW"]
    assert SEGLEARN_NAMES["PEN"] == "pendulum"
    assert len(EXERCISES) >= 20
    assert NON_ACTIVITY not in EXERCISES


@pytest.mark.parametrize("name", list(ACTIVITIES))
def test_every_activity_renders_a_physical_body(name: str) -> None:
    rec = simulate_workout(
        [{"activity": name, "seconds": 8}], seed=1, wrist="right", sensor=SensorModel.ideal()
    )
    pose = rec.pose_m.astype(np.float64)
    assert np.isfinite(pose).all() and np.isfinite(rec.acc_g).all()
    for a, b in BONES:  # forward kinematics keeps every bone length
        length = np.linalg.norm(pose[:, J[a]] - pose[:, J[b]], axis=1)
        assert length.std() < 1e-3 * length.mean() + 1e-6, (a, b)
    assert pose[..., 2].min() > 0.0  # nothing goes through the floor
    acc = np.linalg.norm(rec.acc_g, axis=1)
    assert 0.6 < acc.mean() < 2.2  # gravity dominates the mean (burpees, the most vigorous, average 2 g)
    # no saturating spikes from non-physical motion; racket and club strokes reach the 16 g full scale of
    # watch accelerometers in real recordings too
    stroke = any(m.wave.startswith("stroke") for m in ACTIVITIES[name].moves)
    assert acc.max() < (16.0 if stroke else 8.0)


def test_scripted_workout_labels_follow_the_script() -> None:
    script = [
        {"activity": "ABD", "seconds": 20},
        {"rest": 10, "kind": "walking"},
        {"activity": "squats", "reps": 8},
    ]
    rec = simulate_workout(script, seed=4, wrist="left")
    labels = rec.labels
    seq = [labels[i] for i in rec.label[np.r_[True, np.diff(rec.label) != 0]]]
    assert seq == ["ABD", NON_ACTIVITY, "squats"]
    assert ((rec.label == labels.index("ABD")).sum() / rec.rate_hz) == pytest.approx(20, abs=0.05)
    squat_s = (rec.label == labels.index("squats")).sum() / rec.rate_hz
    assert squat_s == pytest.approx(8 * ACTIVITIES["squats"].rep_s, abs=0.05)
    assert rec.acc_g.shape == (len(rec.t_s), 3) and rec.pose_m.shape == (len(rec.t_s), 17, 3)
    assert KINDS[rec.kind[rec.label == labels.index(NON_ACTIVITY)][0]] == "transition"
    # same seed, same recording; another seed, another subject
    again = simulate_workout(script, seed=4, wrist="left")
    np.testing.assert_array_equal(again.acc_g, rec.acc_g)
    other = simulate_workout(script, seed=5, wrist="left")
    assert other.acc_g.shape != rec.acc_g.shape or not np.array_equal(other.acc_g, rec.acc_g)


def test_script_formats_and_errors(tmp_path: Path) -> None:
    text = "# warm-up\nABD 30\nrest 10 walking\nsquats 12 reps\npendulum 20\n"
    steps = parse_script(text)
    assert [(s.activity, s.rest_kind) for s in steps] == [
        ("ABD", None),
        ("rest", "rest_walking"),
        ("squats", None),
        ("PEN", None),
    ]
    assert steps[2].seconds == pytest.approx(12 * ACTIVITIES["squats"].rep_s)
    f = tmp_path / "w.json"
    f.write_text('[{"activity": "IR", "seconds": 5}, {"rest": 3}]')
    assert [s.activity for s in parse_script(f)] == ["IR", "rest"]
    assert parse_script([("ER", 4), ("rest", 2)])[1].seconds == 2
    with pytest.raises(DataError, match="unknown activity"):
        parse_script([("yoga", 10)])
    with pytest.raises(DataError, match="positive"):
        parse_script([{"activity": "ABD", "seconds": -1}])
    with pytest.raises(DataError, match="lack"):
        simulate_workout([("ABD", 5)], labels=["FEL", NON_ACTIVITY])


def test_texts_are_normalized_and_cover_every_kind() -> None:
    texts = activity_texts()
    assert {t["activity"] for t in texts} == set(KINDS)
    for t in texts:
        assert t["text"] == t["text"].lower() and ":" not in t["text"]
    squats = [t["text"] for t in texts if t["label"] == "squats"]
    assert "squats" in squats and "round 2 squats" in squats and "squats times 12" in squats
    assert all(t["label"] == NON_ACTIVITY for t in texts if t["activity"] in ("rest_walking", "transition"))
    # the library's everyday activities are labels of their own, titled as bouts, not sets
    walking = [t["text"] for t in texts if t["label"] == "walking"]
    assert "walking" in walking and not any("times 12" in w for w in walking)


def _corpus(path: Path, seed: int) -> Dataset:
    return generate_corpus(
        path,
        hours=0.08,
        seed=seed,
        subjects=3,
        activities=["ABD", "squats", "IR"],
        with_gyr=True,
        encode=_fake_encode,
    )


def test_corpus_is_deterministic_and_well_formed(tmp_path: Path) -> None:
    a = _corpus(tmp_path / "a", 7)
    b = _corpus(tmp_path / "b", 7)
    c = _corpus(tmp_path / "c", 8)
    assert a.manifest["content_hash"] == b.manifest["content_hash"]
    assert a.manifest["content_hash"] != c.manifest["content_hash"]
    assert a.labels == ["squats", "ABD", "IR", NON_ACTIVITY]  # catalogue order, then non-activity
    n = len(a)
    assert n > 80
    assert a.acc.shape == (n, WINDOW, 3) and a.gyr.shape == (n, WINDOW, 3)
    assert a.pose.shape == (n, WINDOW, 17, 3)
    assert a.text is not None and a.text_id is not None and a.text.shape[1] == 384
    assert (np.diff(a.start[a.recording == a.recording[0]]) == HOP).all()
    assert a.subject.min() >= SYNTH_SUBJECT_BASE
    # every window's text belongs to the window's label
    texts = a.manifest["texts"]
    assert len(texts) == a.text.shape[0]
    paired = np.array([a.labels.index(texts[i]["label"]) for i in a.text_id])
    np.testing.assert_array_equal(paired, a.label)
    assert set(np.unique(a.label)) == {0, 1, 2, 3}
    assert a.manifest["generator"]["seed"] == 7
    assert a.manifest["label_text"]["squats"][0] == "squats"
    assert a.manifest["label_text"]["ABD"][0] == "shoulder abduction"
    # windows match the continuous recording they were cut from: consecutive windows overlap by HOP samples
    same = a.recording[:-1] == a.recording[1:]
    i = int(np.argmax(same))
    np.testing.assert_array_equal(a.acc[i, HOP:], a.acc[i + 1, :HOP])


def test_corpus_rejects_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown activity"):
        generate_corpus(tmp_path / "x", hours=0.01, activities=["yodelling"], encode=_fake_encode)
    with pytest.raises(DataError, match="non-activity"):
        generate_corpus(tmp_path / "x", hours=0.01, activities=["rest_walking"], encode=_fake_encode)
    with pytest.raises(DataError, match="positive"):
        generate_corpus(tmp_path / "x", hours=0, encode=_fake_encode)


def test_workers_do_not_change_the_corpus(tmp_path: Path) -> None:
    kw = {"hours": 0.03, "seed": 2, "subjects": 4, "activities": ["IR", "ER"], "encode": _fake_encode}
    one = generate_corpus(tmp_path / "one", workers=1, **kw)
    two = generate_corpus(tmp_path / "two", workers=2, **kw)
    assert one.manifest["content_hash"] == two.manifest["content_hash"]


def test_left_wrist_sessions_are_stored_in_the_right_wrist_frame() -> None:
    ideal = SensorModel.ideal()
    script = [("ABD", 6), ("IR", 6)]
    device = simulate_workout(script, seed=9, wrist="left", sensor=ideal)
    conv = simulate_workout(script, seed=9, wrist="left", sensor=ideal, frame="convention")
    # what mujo_edge.axes / the seglearn importer do to a real left watch: acc (-x, y, z), gyro (x, -y, -z)
    np.testing.assert_allclose(conv.acc_g, device.acc_g * [-1, 1, 1], atol=1e-5)
    np.testing.assert_allclose(conv.gyr_rad_s, device.gyr_rad_s * [1, -1, -1], atol=1e-4)
    # and the pose is mirrored with it: the watch arm is now the right one
    np.testing.assert_allclose(conv.pose_m[:, J["r_wrist"], 1], -device.pose_m[:, J["l_wrist"], 1], atol=1e-5)
    # arm (nearly) hanging at the start of the set reads x close to -1 g in the convention frame
    assert conv.acc_g[:5, 0].mean() < -0.7 < 0.7 < device.acc_g[:5, 0].mean()


def test_cli_data_synth_writes_a_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mujo_edge.training.text as text_mod
    from mujo_edge.cli import main

    monkeypatch.setattr(text_mod, "encode_texts", _fake_encode)
    out = tmp_path / "corpus"
    argv = [
        "data",
        "synth",
        "--out",
        str(out),
        "--hours",
        "0.02",
        "--seed",
        "3",
        "--activities",
        "PEN,squats",
    ]
    assert main([*argv, "--with-gyr", "--wrist", "right"]) == 0
    ds = Dataset.open(out, verify=True)
    assert ds.labels == ["squats", "PEN", NON_ACTIVITY] and ds.gyr is not None
    assert ds.manifest["generator"]["wrist"] == "right"
    # the summary counts the subjects the corpus holds: 72 s of sessions cannot give each of 10 one
    present = len(ds.manifest["subjects"])
    assert present < ds.manifest["generator"]["subjects"] == 10
    assert f"{present} subjects (of 10 asked" in " ".join(capsys.readouterr().out.split())
    assert main(argv) == 2  # refuses to overwrite
    assert main([*argv, "--overwrite", "--activities", "yoga"]) == 2  # unknown activity: a clear error
