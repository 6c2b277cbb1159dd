"""Zero-shot recognition on an unseen dataset (paper section 5.2, Table 3).

Each label's text embedding: the dataset's ``label_text`` strings of that label (or the label name if it
has none) encoded with the frozen sentence encoder (``encode_texts``), passed through the pretrained text
encoder + projection, L2-normalized and averaged (then normalized again). A window's accelerometer
projection is compared with every label by cosine similarity, and the most similar label is the prediction
(the paper writes argmin; the nearest label is the argmax of similarity).

"No activity" gets the mean of all label embeddings. *With* it, the candidate set is the activity labels
plus "no activity" (windows whose label is a no-activity label count as that class; in a dataset without
such windows it is a pure distractor). *Without* it, no-activity windows are dropped and only the activity
labels are candidates.

Top-k macro-F1: a window counts as correct if its true label is among the k most similar labels; otherwise
its prediction is the top-1 label. Macro-F1 averages over the classes present among the true labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mujo_edge import _checks
from mujo_edge.errors import ConfigError, DataError, ShapeError
from mujo_edge.events import is_no_activity
from mujo_edge.metrics import macro_f1
from mujo_edge.provenance import provenance
from mujo_edge.training.assets import resolve_pretrained

TOPK = (1, 3, 5)


def topk_macro_f1(sim: np.ndarray, y: np.ndarray, k: int) -> float:
    """Macro-F1 (over the classes of ``y``) where a window is correct if ``y`` is in its top-k labels by
    ``sim`` (N, L), else its prediction is the top-1 label."""
    sim, y = _scores(sim, y)
    k = _checks.count(k, "k", 1, "pass how many top labels count as a hit")
    order = np.argsort(-sim, axis=1)
    hit = (order[:, :k] == y[:, None]).any(1)
    pred = np.where(hit, y, order[:, 0])
    return macro_f1(y, pred, labels=np.unique(y))


def _scores(sim: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``sim`` (N, L) finite similarities and ``y`` (N,) label indices in [0, L), checked."""
    sim = _checks.real_array(sim, np.dtype(np.float64), "sim", keep_float=True)
    if sim.ndim != 2 or not np.isfinite(sim).all():
        raise ShapeError(
            f"sim must be finite (N windows, L labels) similarities, got shape {sim.shape}"
            + ("" if sim.ndim != 2 else " with NaN or inf")
            + ": pass one row of label similarities per window"
        )
    y = _checks.real_array(y, np.dtype(np.int64), "y")
    if y.shape != sim.shape[:1] or (len(y) and not 0 <= int(y.min()) <= int(y.max()) < sim.shape[1]):
        raise ShapeError(
            f"y must be ({len(sim)},) label indices in [0, {sim.shape[1]}), one per row of sim, got shape "
            f"{y.shape}: pass each window's true label as a column of sim"
        )
    return sim, y


def _label_texts(label_texts: Any) -> dict[str, list[str]]:
    """``label_texts`` (label name -> phrasings) as a dict of lists; ConfigError for a single str phrasing
    (not a list of them, whatever it would split into) or non-str names."""
    fix = 'map each label name to a list of phrasings, e.g. {"walk": ["walking", "a walk"]}'
    out = {}
    for name, texts in _checks.mapping(label_texts, "label_texts", fix).items():
        _checks.text(name, "a label_texts key", fix)
        out[name] = _checks.names(texts, f"label_texts[{name!r}]", fix)
    return out


@torch.no_grad()
def label_embeddings(model: Any, label_texts: Sequence[Sequence[str]]) -> np.ndarray:
    """(L, joint_dim) unit vectors: per label the normalized mean of its projected, encoded texts."""
    from mujo_edge.training.text import encode_texts, normalize_text

    if not callable(getattr(model, "embed", None)):
        raise ConfigError(
            f"label_embeddings needs the loaded pretrained model, got {type(model).__name__} {model!r:.60}: "
            "pass load_pretrained(run)"
        )
    fix = "pass one list of phrasings per label"
    if isinstance(label_texts, str) or not isinstance(label_texts, Sequence):
        raise ConfigError(
            f"label_texts must be a list of phrasing lists, got {type(label_texts).__name__} "
            f"{label_texts!r:.60}: {fix}"
        )
    label_texts = [_checks.names(t, f"label_texts[{i}]", fix) for i, t in enumerate(label_texts)]
    flat = [normalize_text(t) for texts in label_texts for t in texts]
    owner = np.repeat(np.arange(len(label_texts)), [len(t) for t in label_texts])
    z = torch.nn.functional.normalize(
        model.embed("text", torch.from_numpy(encode_texts(flat)).float()), dim=1
    )
    out = np.zeros((len(label_texts), z.shape[1]), np.float32)
    for c in range(len(label_texts)):
        v = z[torch.from_numpy(owner == c)].mean(0)
        out[c] = torch.nn.functional.normalize(v, dim=0).numpy()
    return out


def chance_topk_macro_f1(y: np.ndarray, n_candidates: int, k: int, draws: int = 20, seed: int = 0) -> float:
    """Chance level of :func:`topk_macro_f1`: its mean over ``draws`` uniformly random similarity rankings of
    ``n_candidates`` labels for the windows ``y`` (about k / n_candidates)."""
    n_candidates = _checks.count(n_candidates, "n_candidates", 1, "pass how many labels are ranked")
    draws = _checks.count(draws, "draws", 1, "pass how many random rankings to average")
    k = _checks.count(k, "k", 1, "pass how many top labels count as a hit")
    seed = _checks.count(seed, "seed", 0, "pass a whole-number seed")
    y = _checks.real_array(y, np.dtype(np.int64), "y")
    if y.ndim != 1 or (len(y) and not 0 <= int(y.min()) <= int(y.max()) < n_candidates):
        raise ShapeError(
            f"y must be (N,) label indices in [0, {n_candidates}), got shape {y.shape}: pass each window's "
            "true label index"
        )
    rng = np.random.default_rng(seed)
    return float(np.mean([topk_macro_f1(rng.random((len(y), n_candidates)), y, k) for _ in range(draws)]))


@torch.no_grad()
def zeroshot(
    pretrained: str | Path,
    data: str | Path,
    *,
    calibration: str = "none",
    subjects: Sequence[int] | None = None,
    label_texts: Mapping[str, Sequence[str]] | None = None,
    batch_size: int = 512,
) -> dict[str, Any]:
    """Zero-shot top-1/3/5 macro-F1 of a pretrained run on a labelled dataset, with and without "no activity".

    ``calibration``: none | unsupervised (PIT fitted on all evaluated windows) | supervised (per class).
    ``label_texts``: phrasings per label name that replace the dataset's own ``label_text`` for those labels
    (the benchmark's label dictionary). ``chance`` holds each score's chance level (random rankings).
    """
    from mujo_edge.training.checkpoint import load_pretrained
    from mujo_edge.training.data.format import Dataset
    from mujo_edge.training.finetune import CALIBRATIONS, apply_calibration, fit_calibration

    _checks.path(pretrained, "pretrained")
    _checks.path(data, "data")
    if _checks.text(calibration, "calibration", f"choose one of {list(CALIBRATIONS)}") not in CALIBRATIONS:
        raise ConfigError(f"calibration must be one of {list(CALIBRATIONS)}, got {calibration!r}")
    if subjects is not None:
        subjects = _checks.ids(subjects, "subjects", "pass a list of subject ids, or None for all", DataError)
    texts_given = {} if label_texts is None else _label_texts(label_texts)
    batch_size = _checks.count(batch_size, "batch_size", 1, "pass windows per forward pass")
    model = load_pretrained(resolve_pretrained(pretrained))
    for m in ("acc", "text"):
        if m not in model.cfg.modalities:
            raise DataError(
                f"zero-shot needs a model pretrained with acc and text, this one has {list(model.cfg.modalities)}"
            )
    ds = Dataset.open(data)
    idx = (
        np.arange(len(ds))
        if subjects is None
        else np.flatnonzero(np.isin(np.asarray(ds.subject), list(subjects)))
    )
    if len(idx) == 0:
        raise DataError(f"no windows of subjects {subjects} in {data}")
    y = np.asarray(ds.label, dtype=np.int64)[idx]
    labels = ds.labels
    unknown = sorted(set(texts_given) - set(labels))
    if unknown:
        raise DataError(
            f"label_texts names {unknown}, which {data} does not have ({labels}): name only its labels"
        )
    acc = np.asarray(ds.acc, dtype=np.float32)[idx]
    cal = fit_calibration(pretrained, calibration, acc, y, labels)
    acc = apply_calibration(cal, acc, y, labels, pretrained)
    z = torch.cat(
        [
            torch.nn.functional.normalize(
                model.embed("acc", torch.from_numpy(acc[i : i + batch_size])), dim=1
            )
            for i in range(0, len(acc), batch_size)
        ]
    ).numpy()
    texts = {**ds.label_text, **texts_given}
    activity = [i for i, n in enumerate(labels) if not is_no_activity(n)]
    emb = label_embeddings(model, [texts.get(labels[i]) or [labels[i]] for i in activity])
    no_act = emb.mean(0)
    no_act /= max(1e-12, float(np.linalg.norm(no_act)))
    remap = {c: j for j, c in enumerate(activity)}
    results: dict[str, Any] = {"labels": [labels[i] for i in activity], "n_windows": len(idx)}
    # without "no activity": drop its windows, activity labels only
    keep = np.isin(y, activity)
    y_wo = np.array([remap[c] for c in y[keep]], dtype=np.int64)
    sim_wo = z[keep] @ emb.T
    results["without_no_activity"] = {f"top{k}": topk_macro_f1(sim_wo, y_wo, k) for k in TOPK}
    # with "no activity": one more candidate (the mean embedding); no-activity windows are that class
    y_w = np.array([remap.get(c, len(activity)) for c in y], dtype=np.int64)
    sim_w = z @ np.vstack([emb, no_act]).T
    results["with_no_activity"] = {f"top{k}": topk_macro_f1(sim_w, y_w, k) for k in TOPK}
    results["chance_top1"] = 1.0 / len(activity)
    results["chance"] = {
        "without_no_activity": {f"top{k}": chance_topk_macro_f1(y_wo, len(activity), k) for k in TOPK},
        "with_no_activity": {f"top{k}": chance_topk_macro_f1(y_w, len(activity) + 1, k) for k in TOPK},
    }
    results["per_class_top1_recall_without"] = {
        labels[c]: float((sim_wo.argmax(1)[y_wo == remap[c]] == remap[c]).mean())
        if (y_wo == remap[c]).any()
        else None
        for c in activity
    }
    results["calibration"] = calibration
    results["pretrained"] = str(pretrained)
    results["data"] = str(data)
    results["provenance"] = provenance()
    return results
