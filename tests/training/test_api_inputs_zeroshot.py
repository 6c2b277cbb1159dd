"""Bad arguments to zero-shot (zeroshot, topk_macro_f1, chance_topk_macro_f1, label_embeddings) and to the
benchmark spec (load_spec): the project's error naming the argument or spec field and what to pass, before
any model or dataset is loaded, never a raw TypeError / ValueError / UnicodeDecodeError."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="zero-shot needs torch (training extra)")

from mujo_edge.errors import ConfigError, DataError, ShapeError
from mujo_edge.training.benchmark import load_spec
from mujo_edge.training.zeroshot import (
    chance_topk_macro_f1,
    label_embeddings,
    topk_macro_f1,
    zeroshot,
)

SIM = np.array([[0.9, 0.1], [0.2, 0.8]])
Y = np.array([0, 1])


@pytest.mark.parametrize("sim,y,k,error,match", [
    (np.array([["a", "b"]]), [0], 1, ShapeError, "real numbers"),
    (SIM + 1j, Y, 1, ShapeError, "real numbers"),
    (None, Y, 1, ShapeError, "real numbers"),
    (np.full((2, 2), np.nan), Y, 1, ShapeError, "NaN"),
    (np.zeros(2), Y, 1, ShapeError, "N windows, L labels"),
    (SIM, [0], 1, ShapeError, "one per row"),
    (SIM, [0, 5], 1, ShapeError, "label indices"),
    (SIM, Y, 0, ConfigError, "k must be"),
    (SIM, Y, "1", ConfigError, "k must be"),
])  # fmt: skip
def test_topk_macro_f1_refuses_bad_arguments(sim: Any, y: Any, k: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        topk_macro_f1(sim, y, k)


def test_topk_macro_f1_takes_lists() -> None:
    assert topk_macro_f1(SIM.tolist(), Y.tolist(), 1) == pytest.approx(1.0)


@pytest.mark.parametrize("args,error,match", [
    ((Y, 0, 1), ConfigError, "n_candidates"),
    ((Y, 2, 1, 0), ConfigError, "draws"),
    ((Y, 2, 1, 20, "x"), ConfigError, "seed"),
    ((None, 2, 1), ShapeError, "real numbers"),
    (("ab", 2, 1), ShapeError, "real numbers"),
    ((np.array([0, 3]), 2, 1), ShapeError, "label indices"),
])  # fmt: skip
def test_chance_refuses_bad_arguments(args: tuple, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        chance_topk_macro_f1(*args)


class _Model:
    def embed(self, modality: str, x: Any) -> Any:
        return x


@pytest.mark.parametrize("model,texts,match", [
    ("run", [["walking"]], "load_pretrained"),
    (None, [["walking"]], "load_pretrained"),
    (_Model(), "walking", "list of phrasing lists"),
    (_Model(), ["walking"], r"label_texts\[0\] must be a list of str"),
    (_Model(), [["walking", 3]], r"label_texts\[0\] must be a list of str"),
])  # fmt: skip
def test_label_embeddings_refuses_bad_arguments(model: Any, texts: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        label_embeddings(model, texts)


@pytest.mark.parametrize("kw,error,match", [
    ({"pretrained": None}, DataError, "pretrained must be a file path"),
    ({"data": 5}, DataError, "data must be a file path"),
    ({"calibration": "pit"}, ConfigError, "calibration must be one of"),
    ({"calibration": None}, ConfigError, "calibration must be a str"),
    ({"subjects": "12"}, DataError, "subjects must be a list"),
    ({"subjects": [1.5]}, DataError, "subjects must hold whole numbers"),
    ({"label_texts": {"walk": "walking"}}, ConfigError, r"label_texts\['walk'\] must be a list of str"),
    ({"label_texts": ["walking"]}, ConfigError, "label_texts must be a dict"),
    ({"label_texts": {1: ["walking"]}}, ConfigError, "label_texts key must be a str"),
    ({"batch_size": 0}, ConfigError, "batch_size"),
    ({"batch_size": 2.0}, ConfigError, "batch_size"),
])  # fmt: skip
def test_zeroshot_refuses_bad_arguments_before_loading(
    tmp_path: Path, kw: dict[str, Any], error: type, match: str
) -> None:
    args: dict[str, Any] = {"pretrained": tmp_path / "no-run", "data": tmp_path / "no-data"} | kw
    with pytest.raises(error, match=match):
        zeroshot(args.pop("pretrained"), args.pop("data"), **args)


BASE = {"datasets": [{"data": "real", "split": {"test": [5]}}]}


@pytest.mark.parametrize("change,match", [
    ({"shots": "abc"}, "shots must be a list of whole numbers"),
    ({"shots": 5}, "shots must be a list of whole numbers"),
    ({"shots": [1.5]}, "shots must hold whole numbers"),
    ({"shots": [True]}, "shots must hold whole numbers"),
    ({"fractions_pct": "x"}, "fractions_pct must be a list"),
    ({"fractions_pct": [None]}, r"fractions_pct\[0\] must be a finite number"),
    ({"modes": None}, "modes must be a list of str"),
    ({"modes": "linear"}, "modes must be a list of str"),
    ({"seeds": "x"}, "seeds must be a whole number"),
    ({"seeds": 1.5}, "seeds must be a whole number"),
    ({"seeds": None}, "seeds must be a whole number"),
    ({"max_epochs": [1]}, "max_epochs must be a whole number"),
    ({"patience": "3"}, "patience must be a whole number"),
    ({"lr": "x"}, "lr must be a finite number"),
    ({"lr": None}, "lr must be a finite number"),
    ({"lr": -1}, "lr must be a number > 0"),
    ({"batch_size": 0}, "batch_size must be a whole number"),
    ({"batch_size": "x"}, "batch_size must be a whole number"),
    ({"datasets": [{"data": "real", "split": {"test": [5]}, "placement": 5}]}, "placement must be a string"),
    ({"datasets": [{"data": "real", "split": {"test": [5]}, "name": 5}]}, "name must be a string"),
    ({"datasets": [{"data": "real", "split": {"test": []}}]}, "names no subjects"),
])  # fmt: skip
def test_spec_fields_of_the_wrong_type_are_refused(tmp_path: Path, change: dict, match: str) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(BASE | change))
    with pytest.raises(DataError, match=match):
        load_spec(tmp_path / "spec.json")


def test_spec_file_that_is_not_text_or_not_a_path(tmp_path: Path) -> None:
    for name in ("spec.json", "spec.yaml"):
        (tmp_path / name).write_bytes(b"\xff\xfe\x00 not text")
        with pytest.raises(DataError, match="cannot be read as text"):
            load_spec(tmp_path / name)
    for bad in (None, 5):
        with pytest.raises(DataError, match="file path"):
            load_spec(bad)  # type: ignore[arg-type]


def test_spec_overrides_are_checked_like_the_file(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(BASE))
    for override, error, match in (
        ({"seeds": "x"}, DataError, "seeds must be a whole number"),
        ({"shots": 3}, DataError, "shots must be a list"),
        ({"lr": math.inf}, DataError, "lr must be a finite number"),
        ({"epochs": 3}, ConfigError, r"unknown settings \['epochs'\]"),
    ):
        with pytest.raises(error, match=match):
            load_spec(tmp_path / "spec.json", **override)
    assert load_spec(tmp_path / "spec.json", seeds=2, shots=[1, 2]).seeds == 2
