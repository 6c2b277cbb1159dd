"""``mujo-edge benchmark``: how much a pretrained joint space saves in labels, on any number of real datasets.

One spec file (JSON; YAML too when pyyaml is installed) names the datasets; per dataset, its folder (a
``mujo-edge data import`` result), the subject-wise split, a dictionary from each dataset label to one or more
text phrasings, and the sensor placement. For every dataset :func:`benchmark` measures

- **zero-shot**: top-1 / top-3 macro-F1 of the nearest label text in the joint space
  (:func:`mujo_edge.training.zeroshot.zeroshot` with the spec's phrasings), on the test and on the validation
  subjects, with each score's chance level;
- **few labels**: ``k`` labelled windows per class (``shots``) and class-balanced training fractions
  (``fractions_pct``) of the training subjects, each drawn per seed, in the modes

  - ``scratch``: the pretrained model's architecture, randomly initialised, everything trained;
  - ``linear``: multinomial logistic regression on the frozen accelerometer embedding (the L2-normalised
    joint-space projection, standardised), its regularisation C chosen on the validation subjects;
  - ``finetuned``: the pretrained acc encoder + projection + a head, everything trained;

  scratch and finetuned use the protocol's training loop
  (:func:`mujo_edge.training.finetune.train_classifier`: weighted cross-entropy, Adam at ``LEARNING_RATE``,
  early stopping on the validation subjects' macro-F1) with the budget ``BENCHMARK_MAX_EPOCHS`` /
  ``BENCHMARK_PATIENCE``. Every mode and model of one (dataset, regime, seed) sees exactly the same
  training windows (:func:`training_windows`; each result row carries their sha256).

With ``control`` (a pretraining run on the same corpus with its accelerometer replaced by noise,
:func:`noise_control_corpus`), linear and finetuned also run on it.

Outputs in the report folder: ``results.json`` (spec, datasets, every run, zero-shot, summary; resumable),
``table.md`` and ``plot_<dataset>.png``. Everything here is torch-free until a run starts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mujo_edge import _checks
from mujo_edge.constants import (
    BENCHMARK_FRACTIONS_PCT,
    BENCHMARK_MAX_EPOCHS,
    BENCHMARK_PATIENCE,
    BENCHMARK_SEEDS,
    BENCHMARK_SHOTS,
    LEARNING_RATE,
)
from mujo_edge.errors import ConfigError, DataError, MissingDependencyError
from mujo_edge.metrics import macro_f1
from mujo_edge.provenance import content_hash, provenance, write_json
from mujo_edge.training.data.splits import check_disjoint_subjects

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("scratch", "linear", "finetuned")
#: Regularisation strengths (inverse, sklearn's C) the linear probe chooses from on the validation subjects.
LINEAR_PROBE_C: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
#: C of the linear probe when a dataset has no validation subjects (sklearn's default).
LINEAR_PROBE_DEFAULT_C = 1.0
#: Windows per chunk when streaming a corpus's accelerometer (noise control).
NOISE_CHUNK_WINDOWS = 8192


# --- the spec --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a benchmark spec (``data`` resolved relative to the spec file)."""

    name: str
    data: str
    test_subjects: tuple[int, ...]
    val_subjects: tuple[int, ...] = ()
    #: None: every subject that is neither test nor validation.
    train_subjects: tuple[int, ...] | None = None
    #: label name -> phrasings for zero-shot (labels left out use the dataset's own label text or name).
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: where the sensor was worn, free text ("right wrist", "waist"); available to ``text_template``.
    placement: str = ""
    #: how a phrasing becomes a zero-shot text; fields {phrasing} and {placement}.
    text_template: str = "{phrasing}"

    def __post_init__(self) -> None:
        check_disjoint_subjects(
            self.test_subjects, self.val_subjects, self.train_subjects, f"dataset {self.name!r}"
        )


@dataclass(frozen=True)
class BenchmarkSpec:
    datasets: tuple[DatasetSpec, ...]
    shots: tuple[int, ...] = BENCHMARK_SHOTS
    fractions_pct: tuple[float, ...] = BENCHMARK_FRACTIONS_PCT
    modes: tuple[str, ...] = MODES
    seeds: int = BENCHMARK_SEEDS
    max_epochs: int = BENCHMARK_MAX_EPOCHS
    patience: int = BENCHMARK_PATIENCE
    lr: float = LEARNING_RATE
    batch_size: int = 32

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


_SPEC_KEYS = {
    "datasets",
    "shots",
    "fractions_pct",
    "modes",
    "seeds",
    "max_epochs",
    "patience",
    "lr",
    "batch_size",
}
_DATASET_KEYS = {"name", "data", "split", "labels", "placement", "text_template"}


def _subjects(v: Any, where: str) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        return (v,)
    if isinstance(v, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in v):
        return tuple(v)
    raise DataError(f"{where} must be a list of integer subject ids, found {v!r}")


def _read_spec_file(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"benchmark spec {path} does not exist; write one (docs/benchmark-protocol.md).")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(
            f"benchmark spec {path} cannot be read as text ({e}); pass a JSON or YAML spec file."
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise MissingDependencyError("a YAML benchmark spec", "training", "pyyaml") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise DataError(f"{path} is not valid YAML ({e}); fix it or write the spec as JSON.") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON ({e}); fix the file (YAML needs a .yaml name).") from e


def _dataset_spec(d: Any, i: int, root: Path) -> DatasetSpec:
    where = f"datasets[{i}]"
    if not isinstance(d, dict):
        raise DataError(f"{where} must be an object with data, split and labels, found {type(d).__name__}")
    unknown = sorted(set(d) - _DATASET_KEYS)
    if unknown:
        raise DataError(f"{where}: unknown keys {unknown}; expected some of {sorted(_DATASET_KEYS)}")
    if not isinstance(d.get("data"), str):
        raise DataError(f"{where}.data must be the dataset folder (a string), found {d.get('data')!r}")
    data = Path(d["data"])
    data = data if data.is_absolute() else root / data
    split = d.get("split")
    if not isinstance(split, dict) or "test" not in split:
        raise DataError(
            f'{where}.split must name the test subjects at least: {{"test": [9, 10], "val": [8]}}, found {split!r}'
        )
    bad = sorted(set(split) - {"train", "val", "test"})
    if bad:
        raise DataError(f"{where}.split: unknown parts {bad}; expected train, val, test")
    labels = d.get("labels", {})
    if not isinstance(labels, dict):
        raise DataError(f"{where}.labels must map each label to phrasings, found {type(labels).__name__}")
    phr: dict[str, tuple[str, ...]] = {}
    for k, v in labels.items():
        v = [v] if isinstance(v, str) else v
        if not isinstance(v, list) or not v or not all(isinstance(t, str) and t.strip() for t in v):
            raise DataError(
                f"{where}.labels[{k!r}] must be one phrasing or a non-empty list of them, found {v!r}"
            )
        phr[str(k)] = tuple(v)
    template = d.get("text_template", "{phrasing}")
    if not isinstance(template, str) or "{phrasing}" not in template:
        raise DataError(f"{where}.text_template must contain {{phrasing}}, found {template!r}")
    try:
        template.format(phrasing="x", placement="y")
    except (KeyError, IndexError, ValueError) as e:
        raise DataError(
            f"{where}.text_template {template!r}: only {{phrasing}} and {{placement}} ({e})"
        ) from e
    for key in ("name", "placement"):
        if key in d and not isinstance(d[key], str):
            raise DataError(f"{where}.{key} must be a string, found {type(d[key]).__name__} {d[key]!r}")
    name = str(d.get("name") or Path(d["data"]).name)
    if not name or any(c in name for c in '/\\:*?"<>|') or name in (".", ".."):
        raise DataError(
            f"{where}.name {name!r}: it names the plot file; use letters, digits, '-', '_' or spaces"
        )
    test = _subjects(split["test"], f"{where}.split.test")
    if not test:
        raise DataError(f"{where}.split.test names no subjects; list the held-out test subjects")
    val = _subjects(split.get("val", []), f"{where}.split.val")
    train = _subjects(split["train"], f"{where}.split.train") if "train" in split else None
    check_disjoint_subjects(test, val, train, f"{where}.split ({name})")  # (DatasetSpec checks too, unplaced)
    return DatasetSpec(
        name=name,
        data=str(data),
        test_subjects=test,
        val_subjects=val,
        train_subjects=train,
        labels=phr,
        placement=str(d.get("placement", "")),
        text_template=template,
    )


def load_spec(path: str | Path, **overrides: Any) -> BenchmarkSpec:
    """Read and check a benchmark spec file; ``overrides`` (not None) replace its settings.

    A dataset's ``data`` is relative to the spec file's folder unless absolute.
    Raises:
        DataError: unreadable file, unknown keys, wrong types, no datasets, duplicate names, bad values.
    """
    path = _checks.path(path, "the benchmark spec")
    raw = _read_spec_file(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("datasets"), list) or not raw["datasets"]:
        raise DataError(
            f'{path}: expected an object with a non-empty "datasets" list (docs/benchmark-protocol.md)'
        )
    unknown = sorted(set(raw) - _SPEC_KEYS)
    if unknown:
        raise DataError(f"{path}: unknown keys {unknown}; expected some of {sorted(_SPEC_KEYS)}")
    datasets = tuple(_dataset_spec(d, i, path.parent) for i, d in enumerate(raw["datasets"]))
    names = [d.name for d in datasets]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{path}: dataset names {dup} appear twice; give each dataset its own name")
    settings = {k: raw[k] for k in _SPEC_KEYS - {"datasets"} if k in raw}
    unknown = sorted(k for k in overrides if k not in _SPEC_KEYS - {"datasets"})
    if unknown:
        raise ConfigError(
            f"load_spec got unknown settings {unknown}; override some of {sorted(_SPEC_KEYS - {'datasets'})}"
        )
    settings.update({k: v for k, v in overrides.items() if v is not None})
    spec = BenchmarkSpec(datasets=datasets, **_settings(settings, path))
    bad_modes = [m for m in spec.modes if m not in MODES]
    if bad_modes:
        raise DataError(f"modes {bad_modes} are unknown; choose from {list(MODES)}")
    if any(k < 1 for k in spec.shots) or any(not 0 < f <= 100 for f in spec.fractions_pct):
        raise DataError(
            f"shots must be >= 1 window per class and fractions in (0, 100] percent, found {list(spec.shots)} "
            f"and {list(spec.fractions_pct)}"
        )
    if spec.seeds < 1 or spec.max_epochs < 1 or spec.patience < 1:
        raise DataError(
            f"seeds, max_epochs and patience must be >= 1, found {spec.seeds}, {spec.max_epochs}, {spec.patience}"
        )
    return spec


def _settings(settings: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The spec's settings (file values, then overrides), type-checked: DataError naming the setting."""

    def fractions() -> tuple[float, ...]:
        what = f"{path}: fractions_pct"
        values = settings.get("fractions_pct", BENCHMARK_FRACTIONS_PCT)
        if not isinstance(values, list | tuple):
            raise DataError(
                f"{what} must be a list of percentages, got {type(values).__name__} {values!r:.60}: "
                "write e.g. [10, 100]"
            )
        return tuple(
            _checks.finite(v, f"{what}[{i}]", "write a percentage", DataError) for i, v in enumerate(values)
        )

    def whole(key: str, default: int) -> int:
        return _checks.count(
            settings.get(key, default), f"{path}: {key}", 1, "write a whole number", DataError
        )

    lr = _checks.finite(
        settings.get("lr", LEARNING_RATE), f"{path}: lr", "write a positive number", DataError
    )
    if lr <= 0:
        raise DataError(f"{path}: lr must be a number > 0, got {lr!r}: write a positive learning rate")
    return {
        "shots": _checks.ids(
            settings.get("shots", BENCHMARK_SHOTS), f"{path}: shots", "write e.g. [1, 5, 10]", DataError
        ),
        "fractions_pct": fractions(),
        "modes": tuple(
            _checks.names(
                settings.get("modes", MODES), f"{path}: modes", f"choose some of {list(MODES)}", DataError
            )
        ),
        "seeds": whole("seeds", BENCHMARK_SEEDS),
        "max_epochs": whole("max_epochs", BENCHMARK_MAX_EPOCHS),
        "patience": whole("patience", BENCHMARK_PATIENCE),
        "lr": lr,
        "batch_size": whole("batch_size", 32),
    }


# --- which windows train ---------------------------------------------------------------------------
def windows_sha256(idx: np.ndarray) -> str:
    """sha256 of a sorted int64 window-index array: the identity of a training sample."""
    return hashlib.sha256(np.ascontiguousarray(np.sort(idx), dtype="<i8").tobytes()).hexdigest()


def sample_shots(labels: np.ndarray, idx: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` windows of each class present among ``labels[idx]`` (all of a class that has fewer), drawn
    without replacement; deterministic for a seed and nested (k = 1 is a subset of k = 2, ...). Sorted."""
    labels = np.asarray(labels)
    idx = np.unique(np.asarray(idx, dtype=np.int64))
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(idx[labels[idx] == c])[:k] for c in np.unique(labels[idx])]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def training_windows(
    labels: np.ndarray, train_idx: np.ndarray, regime: str, amount: float, seed: int
) -> np.ndarray:
    """The training windows of one (regime, amount, seed): ``shots`` k per class or ``fraction`` percent.

    It depends on nothing else, so scratch, linear and finetuned, pretrained and control all train on the
    same windows."""
    from mujo_edge.training.data.splits import sample_fraction

    if regime == "shots":
        return sample_shots(labels, train_idx, int(amount), seed)
    if regime == "fraction":
        return sample_fraction(labels, train_idx, float(amount) / 100.0, seed)
    raise DataError(f"regime must be shots or fraction, got {regime!r}")


# --- the runs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchRun:
    dataset: str
    model: str  # "pretrained" | "control" | "none" (scratch)
    mode: str
    regime: str  # "shots" | "fraction"
    amount: float
    seed: int

    @property
    def key(self) -> str:
        tag = f"k{self.amount:g}" if self.regime == "shots" else f"{self.amount:g}%"
        return f"{self.dataset}/{self.model}/{self.mode}/{tag}/{self.seed}"


@dataclass(frozen=True)
class BenchContext:
    """What a worker needs (picklable): the models by name, the datasets by name, the training budget."""

    models: dict[str, str]
    datasets: dict[str, DatasetSpec]
    max_epochs: int
    patience: int
    lr: float
    batch_size: int
    device: str = "cpu"


def plan(spec: BenchmarkSpec, models: Sequence[str]) -> list[BenchRun]:
    """Every run, cheapest first (shots, then fractions ascending), seeds interleaved."""
    regimes = [("shots", float(k)) for k in sorted(spec.shots)] + [
        ("fraction", float(f)) for f in sorted(spec.fractions_pct)
    ]
    runs = []
    for regime, amount in regimes:
        for seed in range(spec.seeds):
            for d in spec.datasets:
                for mode in spec.modes:
                    for m in ["none"] if mode == "scratch" else models:
                        runs.append(BenchRun(d.name, m, mode, regime, amount, seed))
    return runs


def split_of(ds: Any, d: DatasetSpec) -> Any:
    """The subject split of a dataset spec (train: the named subjects, else everyone else)."""
    from mujo_edge.training.data.splits import Split, subject_split

    split = subject_split(ds, d.test_subjects, d.val_subjects)
    if d.train_subjects is None:
        return split
    subject = np.asarray(ds.subject)  # (DatasetSpec has checked that train, val and test are disjoint)
    missing = sorted(set(d.train_subjects) - set(np.unique(subject).tolist()))
    if missing:
        raise DataError(f"{d.name}: training subjects {missing} are not in {d.data}")
    return Split(np.flatnonzero(np.isin(subject, d.train_subjects)), split.val, split.test)


_CACHE: dict[str, Any] = {}


def _dataset(ctx: BenchContext, name: str) -> dict[str, Any]:
    key = f"data|{name}"
    if key not in _CACHE:
        from mujo_edge.training.data.format import Dataset

        d = ctx.datasets[name]
        ds = Dataset.open(d.data)
        _CACHE[key] = {
            "acc": np.array(ds.acc, dtype=np.float32),  # a writable copy of the read-only memory map
            "y": np.asarray(ds.label, dtype=np.int64),
            "labels": ds.labels,
            "split": split_of(ds, d),
        }
    return _CACHE[key]


def _joint(ctx: BenchContext, model: str) -> Any:
    key = f"joint|{model}"
    if key not in _CACHE:
        from mujo_edge.training.assets import resolve_pretrained
        from mujo_edge.training.checkpoint import load_pretrained

        _CACHE[key] = load_pretrained(resolve_pretrained(ctx.models[model]))
    return _CACHE[key]


def _features(ctx: BenchContext, name: str, model: str) -> np.ndarray:
    """(N, joint_dim) L2-normalised acc projections of every window of dataset ``name``, cached."""
    key = f"feat|{name}|{model}"
    if key not in _CACHE:
        import torch

        joint, acc = _joint(ctx, model), _dataset(ctx, name)["acc"]
        with torch.no_grad():
            z = [
                torch.nn.functional.normalize(joint.embed("acc", torch.from_numpy(acc[i : i + 512])), dim=1)
                for i in range(0, len(acc), 512)
            ]
        _CACHE[key] = torch.cat(z).numpy()
    return _CACHE[key]


def linear_probe(
    f_train: np.ndarray,
    y_train: np.ndarray,
    f_val: np.ndarray,
    y_val: np.ndarray,
    cs: Sequence[float] = LINEAR_PROBE_C,
) -> tuple[Any, float, float | None]:
    """Multinomial logistic regression on frozen features, C chosen by validation macro-F1 (ties: the
    smaller C, i.e. stronger regularisation). Features are standardised on the training windows; classes
    are weighted max_count / count like the protocol's loss. Returns (fitted pipeline, C, val macro-F1), with
    C = ``LINEAR_PROBE_DEFAULT_C`` and no validation score when there are no validation windows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fit(c: float) -> Any:
        counts = np.bincount(y_train)
        weight = {int(k): float(counts.max() / counts[k]) for k in np.unique(y_train)}
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight=weight, max_iter=2000))
        if len(np.unique(y_train)) < 2:
            raise DataError("the linear probe needs training windows of at least two classes")
        return clf.fit(f_train, y_train)

    if len(y_val) == 0 or not cs:
        return fit(LINEAR_PROBE_DEFAULT_C), LINEAR_PROBE_DEFAULT_C, None
    best: tuple[float, float, Any] = (-1.0, 0.0, None)
    for c in sorted(cs):
        clf = fit(c)
        f1 = macro_f1(y_val, clf.predict(f_val))
        if f1 > best[0]:
            best = (f1, c, clf)
    return best[2], best[1], best[0]


def run_bench(run: BenchRun, ctx: BenchContext) -> dict[str, Any]:
    """Train and score one run; returns its result row."""
    t0 = time.perf_counter()
    data = _dataset(ctx, run.dataset)
    y, split = data["y"], data["split"]
    train_idx = training_windows(y, split.train, run.regime, run.amount, run.seed)
    row: dict[str, Any] = {
        **asdict(run),
        "key": run.key,
        "n_train": len(train_idx),
        "train_windows_sha256": windows_sha256(train_idx),
        "n_test": len(split.test),
    }
    if run.mode == "linear":
        f = _features(ctx, run.dataset, run.model)
        clf, c, val_f1 = linear_probe(f[train_idx], y[train_idx], f[split.val], y[split.val])
        pred = clf.predict(f[split.test])
        row.update({"C": c, "val_f1": val_f1})
    else:
        from mujo_edge.training.finetune import build_classifier, predict_logits, train_classifier

        joint = _joint(ctx, "pretrained" if run.model == "none" else run.model)
        acc = data["acc"]
        mode = "baseline" if run.mode == "scratch" else "finetuned"
        model = build_classifier(joint, mode, ("acc",), data["labels"], seed=run.seed)
        res = train_classifier(
            model,
            mode,
            {"acc": acc[train_idx]},
            y[train_idx],
            {"acc": acc[split.val]},
            y[split.val],
            lr=ctx.lr,
            max_epochs=ctx.max_epochs,
            patience=ctx.patience,
            batch_size=ctx.batch_size,
            seed=run.seed,
            device=ctx.device,
        )
        pred = predict_logits(model, {"acc": acc[split.test]}, ctx.device).argmax(1)
        row.update({"epochs": res.epochs, "best_epoch": res.best_epoch, "val_f1": res.val_f1})
    row["macro_f1"] = macro_f1(y[split.test], pred)
    row["accuracy"] = float((pred == y[split.test]).mean()) if len(pred) else 0.0
    row["seconds"] = time.perf_counter() - t0
    return row


# --- zero-shot and the dataset summary ---------------------------------------------------------------
def label_phrasings(d: DatasetSpec, ds: Any) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Zero-shot texts per label (the spec's phrasings through ``text_template``, else the dataset's label
    text, else the name) and where each came from. Raises DataError for spec labels the data lacks."""
    unknown = sorted(set(d.labels) - set(ds.labels))
    if unknown:
        raise DataError(
            f"{d.name}: the label dictionary names {unknown}, which {d.data} does not have ({ds.labels})"
        )
    texts, source = {}, {}
    own = ds.label_text
    placement = d.placement or str(ds.manifest.get("placement", ""))
    for lab in ds.labels:
        if lab in d.labels:
            texts[lab] = [d.text_template.format(phrasing=p, placement=placement) for p in d.labels[lab]]
            source[lab] = "spec"
        else:
            texts[lab] = own.get(lab) or [lab]
            source[lab] = "dataset" if own.get(lab) else "name"
    return texts, source


def dataset_info(d: DatasetSpec) -> dict[str, Any]:
    """Labels, window counts per part, subjects and placement of one dataset (checks the split)."""
    from mujo_edge.training.data.format import Dataset

    ds = Dataset.open(d.data)
    split = split_of(ds, d)
    y, subject = np.asarray(ds.label), np.asarray(ds.subject)
    _, source = label_phrasings(d, ds)
    return {
        "data": d.data,
        "content_hash": ds.manifest.get("content_hash"),
        "labels": ds.labels,
        "phrasings_from": source,
        "placement": d.placement or ds.manifest.get("placement", ""),
        "rate_hz": ds.rate_hz,
        "subjects": {
            p: sorted({int(s) for s in subject[getattr(split, p)]}) for p in ("train", "val", "test")
        },
        "windows": {p: len(getattr(split, p)) for p in ("train", "val", "test")},
        "train_windows_per_class": np.bincount(y[split.train], minlength=len(ds.labels)).tolist(),
    }


def zero_shot(d: DatasetSpec, pretrained: str | Path) -> dict[str, Any]:
    """Zero-shot on the test and on the validation subjects (the latter to choose phrasings and templates)."""
    from mujo_edge.training.data.format import Dataset
    from mujo_edge.training.zeroshot import zeroshot

    texts, _ = label_phrasings(d, Dataset.open(d.data))
    out: dict[str, Any] = {}
    for part, subjects in (("test", d.test_subjects), ("val", d.val_subjects)):
        if not subjects:
            continue
        r = zeroshot(pretrained, d.data, subjects=subjects, label_texts=texts)
        out[part] = {
            "top1": r["without_no_activity"]["top1"],
            "top3": r["without_no_activity"]["top3"],
            "chance_top1": r["chance"]["without_no_activity"]["top1"],
            "chance_top3": r["chance"]["without_no_activity"]["top3"],
            "n_windows": r["n_windows"],
            "labels": r["labels"],
            "per_class_top1_recall": r["per_class_top1_recall_without"],
            "with_no_activity": r["with_no_activity"],
        }
    return out


def summarize(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean, std (population) and n of macro-F1 per (dataset, model, mode, regime, amount)."""
    cells: dict[tuple[str, str, str, str, float], list[float]] = {}
    for r in runs:
        k = (r["dataset"], r["model"], r["mode"], r["regime"], float(r["amount"]))
        cells.setdefault(k, []).append(float(r["macro_f1"]))
    return [
        {
            "dataset": k[0],
            "model": k[1],
            "mode": k[2],
            "regime": k[3],
            "amount": k[4],
            "mean": float(np.mean(v)),
            "std": float(np.std(v)),
            "n": len(v),
        }
        for k, v in sorted(cells.items())
    ]


def _row_order(model: str, mode: str) -> tuple[int, int]:
    return (
        {"none": 0, "pretrained": 1, "control": 2}.get(model, 3),
        MODES.index(mode) if mode in MODES else 9,
    )


def _row_name(model: str, mode: str) -> str:
    return "scratch" if mode == "scratch" else f"{model}, {'linear probe' if mode == 'linear' else mode}"


def markdown_report(record: dict[str, Any]) -> str:
    """Per dataset: zero-shot (test and validation subjects) and macro-F1 per mode x regime (mean ± std (n))."""
    from mujo_edge.training.evaluate import format_cell

    summary = summarize(record["runs"])
    cell = {(s["dataset"], s["model"], s["mode"], s["regime"], s["amount"]): s for s in summary}
    ctx = record["context"]
    lines = [
        "# Benchmark (macro-F1 on the test subjects, mean ± std over seeds (n))",
        "",
        f"Pretrained: `{ctx['models'].get('pretrained')}`"
        + (f"; control: `{ctx['models']['control']}`" if "control" in ctx["models"] else "")
        + f". Training loop: lr {ctx['lr']}, at most {ctx['max_epochs']} epochs, patience {ctx['patience']}, "
        f"batch {ctx['batch_size']}; linear probe C from {list(LINEAR_PROBE_C)} on the validation subjects.",
        "",
    ]
    for name, info in record["datasets"].items():
        lines += [
            f"## {name}",
            "",
            f"{len(info['labels'])} classes, placement {info['placement'] or 'not given'}; subjects train "
            f"{info['subjects']['train']}, val {info['subjects']['val']}, test {info['subjects']['test']} "
            f"({info['windows']['train']} / {info['windows']['val']} / {info['windows']['test']} windows).",
            "",
        ]
        zs = record.get("zero_shot", {}).get(name, {})
        if zs:
            lines += [
                "| zero-shot | subjects | top-1 | top-3 | chance top-1 | chance top-3 |",
                "|---|---|---|---|---|---|",
            ]
            for model, parts in zs.items():
                for part, z in parts.items():
                    lines.append(
                        f"| {model} | {part} | {z['top1']:.3f} | {z['top3']:.3f} | {z['chance_top1']:.3f} | "
                        f"{z['chance_top3']:.3f} |"
                    )
            lines.append("")
        sub = [s for s in summary if s["dataset"] == name]
        if not sub:
            continue
        cols = sorted({(s["regime"], s["amount"]) for s in sub}, key=lambda c: (c[0] != "shots", c[1]))
        rows = sorted({(s["model"], s["mode"]) for s in sub}, key=lambda r: _row_order(*r))
        head = [f"{a:g}/class" if reg == "shots" else f"{a:g}%" for reg, a in cols]
        lines += ["| mode | " + " | ".join(head) + " |", "|---|" + "---|" * len(cols)]
        for model, mode in rows:
            vals = []
            for reg, a in cols:
                best = max((s["mean"] for s in sub if (s["regime"], s["amount"]) == (reg, a)), default=None)
                s = cell.get((name, model, mode, reg, a))
                v = (s["mean"], s["std"], s["n"]) if s else None
                vals.append(format_cell(v, bold=v is not None and v[0] == best))
            lines.append(f"| {_row_name(model, mode)} | " + " | ".join(vals) + " |")
        lines.append("")
    return "\n".join(lines)


def plots(record: dict[str, Any], out: Path) -> list[Path]:
    """``plot_<dataset>.png``: macro-F1 (mean ± std) against windows per class and training fraction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize(record["runs"])
    paths = []
    colours = {"scratch": "#777777", "linear": "#4c72b0", "finetuned": "#dd8452"}
    for name in record["datasets"]:
        sub = [s for s in summary if s["dataset"] == name]
        if not sub:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
        for ax, regime, xlabel in zip(
            axes, ("shots", "fraction"), ("labelled windows per class", "training data (%)"), strict=True
        ):
            for model, mode in sorted({(s["model"], s["mode"]) for s in sub}, key=lambda r: _row_order(*r)):
                pts = sorted(
                    (s["amount"], s["mean"], s["std"])
                    for s in sub
                    if (s["model"], s["mode"], s["regime"]) == (model, mode, regime)
                )
                if not pts:
                    continue
                a, m, sd = (np.array(v) for v in zip(*pts, strict=True))
                ax.errorbar(
                    a, m, yerr=sd, marker="o", capsize=3, color=colours.get(mode), ls="--" if model == "control" else "-",
                    label=_row_name(model, mode),
                )  # fmt: skip
            z = record.get("zero_shot", {}).get(name, {}).get("pretrained", {}).get("test")
            if z:
                ax.axhline(z["top1"], color="#55a868", lw=1, label="zero-shot top-1")
                ax.axhline(z["chance_top1"], color="#cccccc", lw=1, ls=":", label="chance (top-1)")
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("macro-F1 (test subjects)")
        axes[0].set_ylim(0, 1)
        axes[1].legend(fontsize=7, loc="lower right")
        fig.suptitle(name)
        fig.tight_layout()
        p = out / f"plot_{name}.png"
        fig.savefig(p, dpi=120)
        plt.close(fig)
        paths.append(p)
    return paths


def write_report(record: dict[str, Any], out: Path) -> None:
    record["summary"] = summarize(record["runs"])
    write_json(out / "results.json", record)
    (out / "table.md").write_text(markdown_report(record))
    plots(record, out)


def benchmark(
    spec: BenchmarkSpec,
    pretrained: str | Path,
    out: str | Path,
    *,
    control: str | Path | None = None,
    jobs: int = 1,
    device: str = "cpu",
    on_result: Callable[[dict[str, Any], int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark of ``spec`` into the report folder ``out`` (resumable); return the record.

    ``pretrained`` / ``control``: pretraining run folders, or ``default`` for the shipped foundation checkpoint.
    """
    from mujo_edge.training.assets import resolve_pretrained
    from mujo_edge.training.checkpoint import read_joint_manifest
    from mujo_edge.training.distributed import check_workers
    from mujo_edge.training.evaluate import open_record, run_pool

    check_workers(device, jobs)
    out = Path(out)
    models = {"pretrained": str(pretrained)} | ({"control": str(control)} if control is not None else {})
    weights = {m: read_joint_manifest(resolve_pretrained(p))["weights"]["sha256"] for m, p in models.items()}
    for m, p in models.items():
        mods = read_joint_manifest(resolve_pretrained(p))["model"]["modalities"]
        if "acc" not in mods:
            raise DataError(
                f"the {m} model {p} has no accelerometer encoder (modalities {mods}); pretrain with acc"
            )
    datasets = {d.name: dataset_info(d) for d in spec.datasets}  # checks every dataset before any run
    out.mkdir(parents=True, exist_ok=True)
    ctx = BenchContext(
        models,
        {d.name: d for d in spec.datasets},
        spec.max_epochs,
        spec.patience,
        spec.lr,
        spec.batch_size,
        device,
    )
    context = {
        "models": models,
        "weights_sha256": weights,
        "max_epochs": spec.max_epochs,
        "patience": spec.patience,
        "lr": spec.lr,
        "batch_size": spec.batch_size,
        "data_hashes": {n: i["content_hash"] for n, i in datasets.items()},
    }
    record = open_record(out / "results.json", context)
    record["spec"] = spec.to_dict()
    record["datasets"] = datasets
    zs = record.setdefault("zero_shot", {})
    for d in spec.datasets:
        for m, p in models.items():
            if (
                m not in zs.get(d.name, {})
                and "text" in read_joint_manifest(resolve_pretrained(p))["model"]["modalities"]
            ):
                zs.setdefault(d.name, {})[m] = zero_shot(d, p)
                write_json(out / "results.json", record)
    done = {r["key"] for r in record["runs"]}
    todo = [r for r in plan(spec, list(models)) if r.key not in done]
    total = len(todo)
    log.info("benchmark: %d runs to do, %d already in %s", total, len(done), out / "results.json")

    def finish(row: dict[str, Any], k: int) -> None:
        record["runs"].append(row)
        write_json(out / "results.json", record)
        if on_result:
            on_result(row, k, total)

    run_pool(run_bench, todo, ctx, jobs, finish)
    write_report(record, out)
    return record


# --- the noise control ------------------------------------------------------------------------------
def noise_control_corpus(corpus: str | Path, out: str | Path, seed: int = 0) -> dict[str, Any]:
    """Copy a corpus with its accelerometer replaced by Gaussian noise of the same per-channel mean and std.

    Every other file (pose, text, labels, subjects, ...) is copied unchanged, so a pretraining on the copy
    differs from one on the corpus only in what the accelerometer carries. Streams ``acc`` in chunks of
    ``NOISE_CHUNK_WINDOWS`` windows (memory does not grow with the corpus). The manifest is written last
    (with the new content hash and a ``noise_control`` record), so an interrupted copy is not a dataset.
    Returns the manifest.
    """
    from mujo_edge.training.data.format import Dataset, check_dataset_out

    corpus, out = Path(corpus), Path(out)
    ds = Dataset.open(corpus)
    if out.resolve() == corpus.resolve():
        raise DataError(f"--out {out} is the corpus itself; write the noise control to another folder")
    check_dataset_out(out, False, " or remove it first")
    acc = ds.acc
    n, w, c = acc.shape
    total = np.zeros(c)
    total_sq = np.zeros(c)
    for i in range(0, n, NOISE_CHUNK_WINDOWS):
        block = np.asarray(acc[i : i + NOISE_CHUNK_WINDOWS], dtype=np.float64).reshape(-1, c)
        total += block.sum(0)
        total_sq += (block**2).sum(0)
    count = max(1, n * w)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    out.mkdir(parents=True, exist_ok=True)
    for entry in corpus.iterdir():
        if entry.name in ("acc.npy", "manifest.json"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, out / entry.name, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, out / entry.name)
    rng = np.random.default_rng(seed)
    noise = np.lib.format.open_memmap(out / "acc.npy", mode="w+", dtype=np.float32, shape=(n, w, c))
    for i in range(0, n, NOISE_CHUNK_WINDOWS):
        m = min(NOISE_CHUNK_WINDOWS, n - i)
        noise[i : i + m] = rng.normal(mean, std, size=(m, w, c)).astype(np.float32)
    noise.flush()
    del noise
    manifest = dict(ds.manifest)
    manifest["name"] = f"{ds.manifest.get('name', corpus.name)}-noise-control"
    manifest["content_hash"] = content_hash([out / f"{a}.npy" for a in manifest.get("arrays", {})], out)
    manifest["noise_control"] = {
        "what": "acc replaced by Gaussian noise of the corpus's per-channel mean and std; all else identical",
        "source_name": ds.manifest.get("name"),
        "source_content_hash": ds.manifest.get("content_hash"),
        "acc_mean_g": mean.tolist(),
        "acc_std_g": std.tolist(),
        "seed": int(seed),
    }
    manifest["provenance"] = provenance(seed=seed)
    write_json(out / "manifest.json", manifest)
    return manifest
