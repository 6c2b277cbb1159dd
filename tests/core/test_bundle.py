"""The .mujo loader: round trip of every manifest field, and one clear error per kind of damage."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mujo_edge.bundle import (
    BUNDLE_SCHEMA_VERSION,
    MANIFEST_NAME,
    Bundle,
    manifest_content_hash,
    upgrade_bundle,
)
from mujo_edge.calibration import PitCalibration
from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.errors import BundleError, MissingDependencyError
from mujo_edge.export.bundle_writer import ModelFile, write_bundle
from mujo_edge.heads import Head

LABELS = ["PEN", "ABD", "FEL"]


def _model(fmt: str = "tflite", payload: bytes = b"\x00fake-model-bytes" * 8) -> ModelFile:
    suffix = "tflite" if fmt == "tflite" else "pte"
    return ModelFile(
        format=fmt,
        filename=f"student_int8.{suffix}",
        data=payload,
        dtype="int8",
        input_layout="BCW",
        inputs=[
            {
                "name": "acc_g",
                "shape": [1, 3, WINDOW],
                "dtype": "int8",
                "position": 0,
                "scale": 0.03,
                "zero_point": 1,
            }
        ],
        outputs=[
            {
                "name": "logits",
                "shape": [1, 3],
                "dtype": "int8",
                "position": 0,
                "scale": 0.1,
                "zero_point": -5,
            },
            {
                "name": "embedding",
                "shape": [1, 4],
                "dtype": "int8",
                "position": 1,
                "scale": 0.05,
                "zero_point": 0,
            },
        ],
        info={"partitions": 1},
    )


@pytest.fixture
def bundle_path(tmp_path: Path) -> Path:
    emb = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    write_bundle(
        tmp_path / "m.mujo",
        labels=LABELS,
        models=[_model("tflite"), _model("executorch", b"PTE" * 40)],
        label_embeddings=emb,
        verification={"agreement": 1.0},
    )
    return tmp_path / "m.mujo"


def _rewrite(src: Path, dst: Path, edit) -> None:
    """Copy a zip, passing every (name, bytes) through ``edit`` (return None to drop the member)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = edit(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)


def test_round_trip(bundle_path: Path) -> None:
    b = Bundle.open(bundle_path)
    assert b.labels == LABELS
    assert (b.rate_hz, b.window, b.hop) == (RATE_HZ, WINDOW, HOP)
    assert b.formats == ["tflite", "executorch"]
    assert b.calibration is None
    np.testing.assert_array_equal(b.label_embeddings, np.arange(12, dtype=np.float32).reshape(3, 4))
    m = b.model("tflite")
    assert (
        m.input_layout == "BCW" and m.inputs[0].scale == pytest.approx(0.03) and m.inputs[0].zero_point == 1
    )
    assert m.output("logits").zero_point == -5 and m.output("embedding").shape == (1, 4)
    assert b.file_bytes(m.file) == b"\x00fake-model-bytes" * 8
    assert b.manifest["verification"] == {"agreement": 1.0}
    assert b.manifest["schema_version"] == BUNDLE_SCHEMA_VERSION
    assert set(b.manifest["files"]) == {
        "models/student_int8.tflite",
        "models/student_int8.pte",
        "label_embeddings.npy",
    }


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        Bundle.open(tmp_path / "nope.mujo")


def test_corrupted_zip_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mujo"
    bad.write_bytes(bundle_path.read_bytes()[: bundle_path.stat().st_size // 2])
    with pytest.raises(BundleError, match=r"not a readable zip.*corrupted or truncated"):
        Bundle.open(bad)
    bad.write_bytes(b"this is not a zip at all")
    with pytest.raises(BundleError, match="not a readable zip"):
        Bundle.open(bad)


def test_tampered_model_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "tampered.mujo"

    def flip(name: str, data: bytes) -> bytes:
        return data[:-1] + bytes([data[-1] ^ 1]) if name.endswith(".pte") else data

    _rewrite(bundle_path, bad, flip)
    with pytest.raises(BundleError, match=r"models/student_int8\.pte has sha256 .* modified after export"):
        Bundle.open(bad)


def test_unknown_schema_version_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "future.mujo"

    def bump(name: str, data: bytes) -> bytes:
        if name != MANIFEST_NAME:
            return data
        m = json.loads(data)
        m["schema_version"] = BUNDLE_SCHEMA_VERSION + 1
        return json.dumps(m).encode()

    _rewrite(bundle_path, bad, bump)
    with pytest.raises(BundleError, match=r"schema_version 3 is not supported .* newer mujo-edge: upgrade"):
        Bundle.open(bad)


def test_missing_model_is_refused(bundle_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "incomplete.mujo"
    _rewrite(bundle_path, bad, lambda name, data: None if name.endswith(".tflite") else data)
    with pytest.raises(BundleError, match=r"incomplete: the manifest lists models/student_int8\.tflite"):
        Bundle.open(bad)


def test_not_a_bundle_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "other.mujo"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        Bundle.open(p)
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr(MANIFEST_NAME, json.dumps({"format": "something-else"}))
    with pytest.raises(BundleError, match="not a MuJo Edge bundle"):
        Bundle.open(p)


def test_unknown_format_asked_says_what_exists(bundle_path: Path) -> None:
    b = Bundle.open(bundle_path)
    with pytest.raises(BundleError, match="holds tflite/int8, executorch/int8"):
        b.model("executorch", dtype="float32")


def test_no_runtime_names_the_extra(bundle_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mujo_edge.runners as runners

    monkeypatch.setattr(runners, "runtime_available", lambda fmt: False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'mujo-edge\[runtime\]'"):
        Bundle.open(bundle_path).runner()


def test_core_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import mujo_edge.bundle, mujo_edge.runners, mujo_edge.export.bundle_writer\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "print('ok')"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


# --- schema 2: content hash, full validation, heads, and the corruption matrix (issue 13, items 2 and 6) ---
def _open_set_bundle(path: Path) -> Path:
    head = Head(
        "linear",
        ["walk", "run"],
        weight=np.arange(8, dtype=np.float32).reshape(2, 4),
        bias=np.array([0.5, -0.5], np.float32),
        prototypes=np.ones((2, 4), np.float32),
        threshold=-5.0,
        precision=np.eye(4, dtype=np.float32),
    )
    write_bundle(
        path,
        labels=LABELS,
        models=[_model("tflite")],
        label_embeddings=np.ones((3, 4), np.float32),
        head=head,
        head_info={"source": "test"},
        calibration=PitCalibration.fit(
            np.linspace(-2, 2, 300).reshape(100, 3), np.zeros((100, 3)) + 0.1
        ).to_dict(),
    )
    return path


def _edit_manifest(src: Path, dst: Path, edit, rehash: bool) -> None:
    def fn(name: str, data: bytes) -> bytes:
        if name != MANIFEST_NAME:
            return data
        m = json.loads(data)
        edit(m)
        if rehash:
            m["content_hash"] = manifest_content_hash(m)
        return json.dumps(m).encode()

    _rewrite(src, dst, fn)


def _refused_open_set_field(src: Path, key: str, value: object, message: str) -> None:
    """A copy of ``src`` whose manifest's ``open_set[key]`` is ``value`` (hash updated) is refused, saying
    ``message``."""
    bad = src.with_name("bad.mujo")
    _edit_manifest(src, bad, lambda m: m["open_set"].__setitem__(key, value), rehash=True)
    with pytest.raises(BundleError, match=message):
        Bundle.open(bad)


def test_open_set_bundle_round_trip(tmp_path: Path) -> None:
    b = Bundle.open(_open_set_bundle(tmp_path / "o.mujo"))
    assert (b.labels, b.model_labels) == (["walk", "run"], LABELS)
    assert b.head.kind == "linear" and b.head.score_kind == "mahalanobis" and b.open_set_threshold == -5.0
    np.testing.assert_array_equal(b.head.bias, [0.5, -0.5])
    assert b.manifest["head"]["source"] == "test"
    assert b.content_hash == manifest_content_hash(b.manifest)
    # derive keeps the model bytes and the open-set test, swaps what it is asked to
    d = b.derive(tmp_path / "d.mujo", calibration=None, name="copy")
    assert d.calibration is None and d.labels == b.labels and d.open_set_threshold == -5.0
    assert d.file_bytes(d.model().file) == b.file_bytes(b.model().file)
    assert d.manifest["derived_from"]["content_hash"] == b.content_hash


def test_reject_labels_survive_the_bundle_and_are_validated(tmp_path: Path) -> None:
    b = Bundle.open(_open_set_bundle(tmp_path / "o.mujo"))
    h = b.head
    rejecting = Head(
        h.kind, ["walk", "other"], h.weight, h.bias, h.prototypes, h.threshold, h.precision, ("other",)
    )
    d = Bundle.open(b.derive(tmp_path / "r.mujo", head=rejecting).path)
    assert d.head.reject == ("other",) and d.manifest["open_set"]["reject_labels"] == ["other"]
    assert "most probable label" in d.manifest["open_set"]["reject_rule"]
    # a derive that keeps the head keeps the rule; a new head without it drops it
    assert Bundle.open(d.derive(tmp_path / "k.mujo", calibration=None).path).head.reject == ("other",)
    assert Bundle.open(d.derive(tmp_path / "n.mujo", head=h).path).head.reject == ()
    for bad in (["jump"], ["walk", "other"], "other"):
        _refused_open_set_field(
            tmp_path / "r.mujo", "reject_labels", bad, "reject_labels must be a list of some"
        )


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.__setitem__("labels", m["labels"][::-1]),
        lambda m: m.__setitem__("rate_hz", 100.0),
        lambda m: m["open_set"].__setitem__("threshold", -1e9),
        lambda m: m["head"].__setitem__("bias", [0.0, 0.0]),
    ],
    ids=["reversed labels", "rate 100", "threshold", "bias"],
)
def test_an_edited_manifest_is_refused_by_the_content_hash(tmp_path: Path, edit) -> None:
    src = _open_set_bundle(tmp_path / "o.mujo")
    _edit_manifest(src, tmp_path / "bad.mujo", edit, rehash=False)
    with pytest.raises(BundleError, match=r"content hash .* was edited after export"):
        Bundle.open(tmp_path / "bad.mujo")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.__setitem__("rate_hz", "fast"), r"'rate_hz' must be a number of Hz"),
        (lambda m: m.__setitem__("rate_hz", -50), r"'rate_hz' must be a number of Hz"),
        (lambda m: m.__setitem__("window", 99.5), r"'window' must be an integer"),
        (lambda m: m.__setitem__("hop", 0), r"'hop' must be an integer"),
        (lambda m: m["model_labels"].pop(), r"returns 3 logits but the manifest names 2 model labels"),
        (lambda m: m.__setitem__("labels", ["walk", "walk"]), r"names \['walk'\] more than once"),
        (lambda m: m.__setitem__("labels", ["walk", 3]), r"non-empty list of label names"),
        (lambda m: m.__setitem__("labels", ["walk"]), r"head bias must be 1 finite numbers"),
        (lambda m: m["head"].__setitem__("kind", "softmax"), r"kind logits or linear"),
        (lambda m: m["open_set"].__setitem__("threshold", "high"), r"threshold must be a finite number"),
        (lambda m: m["open_set"].__setitem__("kind", "knn"), r"open_set kind must be one of"),
        (lambda m: m["models"][0]["outputs"][0].__setitem__("shape", "x"), r"malformed"),
        (lambda m: m["models"][0]["inputs"][0].__setitem__("scale", -1), r"has scale -1"),
        (
            lambda m: m["models"][0]["outputs"].append(
                {"name": "probabilities", "shape": [1, 3], "dtype": "int8", "position": 7}
            ),
            r"int8 'probabilities' output .* must be the float32 softmax of the logits",
        ),
        (lambda m: m.__setitem__("models", []), r"holds no model"),
        (lambda m: m.__setitem__("calibration", [1, 2]), r"'calibration' must be a PIT table"),
        (lambda m: m["calibration"].__setitem__("source_q", "x"), r"calibration|quantile"),
        (lambda m: m.__setitem__("labels", ["unknown", "run"]), r"'unknown' is reserved"),
    ],
)
def test_every_manifest_field_is_validated(tmp_path: Path, edit, message: str) -> None:
    """Edits a re-hashing editor could make: each is refused with a message naming the field."""
    src = _open_set_bundle(tmp_path / "o.mujo")
    _edit_manifest(src, tmp_path / "bad.mujo", edit, rehash=True)
    with pytest.raises(BundleError, match=message):
        Bundle.open(tmp_path / "bad.mujo")


def test_schema_1_is_refused_unless_allowed_and_can_be_upgraded(tmp_path: Path) -> None:
    src = _open_set_bundle(tmp_path / "o.mujo")

    def to_v1(m: dict) -> None:
        for k in ("model_labels", "head", "open_set", "content_hash", "content_hash_scheme"):
            m.pop(k)
        m["labels"] = LABELS
        m["schema_version"] = 1

    _edit_manifest(src, tmp_path / "v1.mujo", to_v1, rehash=False)
    with pytest.raises(BundleError, match=r"schema-1 bundle: it carries no content hash.*mujo-edge export"):
        Bundle.open(tmp_path / "v1.mujo")
    old = Bundle.open(tmp_path / "v1.mujo", allow_unhashed=True)
    assert old.labels == LABELS and old.content_hash is None and old.head.kind == "logits"
    new = upgrade_bundle(tmp_path / "v1.mujo", tmp_path / "v2.mujo")
    assert new.manifest["schema_version"] == 2 and new.labels == LABELS
    assert new.manifest["derived_from"]["upgraded_from_schema"] == 1
    # a current bundle is not re-packed (that dropped its head and open-set test), in place or not
    before = src.read_bytes()
    for out in (tmp_path / "again.mujo", src):
        with pytest.raises(
            BundleError, match="already a schema-2 bundle with a content hash: nothing to upgrade"
        ):
            upgrade_bundle(src, out)
    assert src.read_bytes() == before and not (tmp_path / "again.mujo").exists()
    with pytest.raises(BundleError, match="is a folder, not a bundle"):
        Bundle.open(tmp_path)


def test_corruption_matrix_gives_clear_errors_never_tracebacks(tmp_path: Path) -> None:
    """Seeded byte flips, truncations and random manifest edits over a small bundle: every outcome is a
    BundleError or a bundle that opens; nothing else escapes (the audit found 48 tracebacks in 311)."""
    src = _open_set_bundle(tmp_path / "o.mujo")
    raw = src.read_bytes()
    rng = np.random.default_rng(13)
    outcomes = {"refused": 0, "opened": 0}
    bad = tmp_path / "bad.mujo"

    def attempt() -> None:
        try:
            Bundle.open(bad)
            outcomes["opened"] += 1
        except BundleError:
            outcomes["refused"] += 1

    for _ in range(150):  # byte flips, 1-3 per copy
        data = bytearray(raw)
        for pos in rng.integers(0, len(data), rng.integers(1, 4)):
            data[pos] ^= int(rng.integers(1, 256))
        bad.write_bytes(bytes(data))
        attempt()
    for n in rng.integers(0, len(raw), 40):  # truncations
        bad.write_bytes(raw[:n])
        attempt()
    values = ["x", -1, 0, 1e308, True, None, [], {}, [1, "a"], {"file": "models/../x"}, 2.5]
    keys = [
        "labels",
        "model_labels",
        "rate_hz",
        "window",
        "hop",
        "input",
        "models",
        "files",
        "head",
        "open_set",
        "calibration",
        "label_embeddings",
        "axis_order",
        "units",
        "schema_version",
    ]
    for i in range(120):  # random manifest edits, re-hashed half the time (the validator's turn)
        key = keys[int(rng.integers(len(keys)))]
        value = values[int(rng.integers(len(values)))]
        _edit_manifest(src, bad, lambda m, k=key, v=value: m.__setitem__(k, v), rehash=bool(i % 2))
        attempt()
    assert outcomes["refused"] + outcomes["opened"] == 310
    assert outcomes["refused"] >= 280  # almost every damage is caught; a flip in zip padding may not matter


def test_the_open_set_keep_curve_survives_the_bundle_and_is_validated(tmp_path: Path) -> None:
    b = Bundle.open(_open_set_bundle(tmp_path / "o.mujo"))
    assert b.head.keep_curve is None  # a test recorded at one keep only
    curve = np.array([[0.5, -2.0], [0.9, -4.0], [0.95, -5.0], [1.0, -9.0]])
    d = Bundle.open(b.derive(tmp_path / "c.mujo", head=replace(b.head, keep_curve=curve)).path)
    np.testing.assert_array_equal(d.head.keep_curve, curve)
    assert d.manifest["open_set"]["keep_curve"]["keep"] == [0.5, 0.9, 0.95, 1.0]
    assert d.head.at_keep(0.9).threshold == -4.0 and d.head.at_keep(0.95).threshold == d.open_set_threshold
    assert d.summary()["open_set_keep_range"] == [0.5, 1.0] and b.summary()["open_set_keep_range"] is None
    # a new head without a curve drops it: no stale curve beside another threshold
    assert "keep_curve" not in b.derive(tmp_path / "n.mujo", head=b.head).manifest["open_set"]
    for bad in (
        {"keep": [0.9, 0.5], "threshold": [-1.0, -2.0]},
        {"keep": [0.5, 0.9], "threshold": [-2.0, -1.0]},
        {"keep": [0.5, 0.9], "threshold": [-2.0]},
        {"keep": [0.5, 1.5], "threshold": [-2.0, -3.0]},
        [0.5, -2.0],
    ):
        _refused_open_set_field(tmp_path / "c.mujo", "keep_curve", bad, "open_set keep_curve must hold keep")
