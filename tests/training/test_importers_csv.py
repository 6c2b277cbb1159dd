"""CSV importer: resampling, gaps, units, labels, and one clear error (with the row) per kind of bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo_edge.cli import main
from mujo_edge.constants import STANDARD_GRAVITY
from mujo_edge.errors import CsvFormatError, DataError
from mujo_edge.training.data.csv_import import import_csv
from mujo_edge.training.data.format import Dataset
from tests.fixtures import write_csv


def _still(seconds: float, rate_hz: float, start_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A watch lying face-up: (0, 0, 1 g) plus a 1 Hz wobble on x of 0.1 g."""
    t = start_s + np.arange(round(seconds * rate_hz)) / rate_hz
    acc = np.column_stack([0.1 * np.sin(2 * np.pi * t), np.zeros_like(t), np.ones_like(t)])
    return t, acc


def test_100hz_m_s2_file_with_a_gap(tmp_path: Path) -> None:
    t1, a1 = _still(10.0, 100.0)
    t2, a2 = _still(6.0, 100.0, start_s=13.0)  # 3 s gap: never interpolated across
    t, acc = np.concatenate([t1, t2]), np.concatenate([a1, a2]) * STANDARD_GRAVITY
    f = write_csv(tmp_path / "rec.csv", t, acc, subject=7, time_name="timestamp")
    ds = import_csv([f], tmp_path / "ds", units="m/s2", label="lying")
    # 10 s -> 500 grid samples -> 9 windows; 6 s -> 300 samples -> 5 windows.
    assert len(ds) == 14 and ds.labels == ["lying"]
    assert np.asarray(ds.subject).tolist() == [7] * 14
    starts = np.asarray(ds.start)
    assert starts[:9].tolist() == list(range(0, 450, 50))
    assert starts[9:].tolist() == [650 + 50 * k for k in range(5)]  # 13 s * 50 Hz
    np.testing.assert_allclose(ds.acc[..., 2], 1.0, atol=1e-4)  # a still watch reads 1 g
    # The wobble survives the anti-aliased 100 -> 50 Hz resampling: window 2 starts at t = 2 s.
    np.testing.assert_allclose(ds.acc[2, :, 0], 0.1 * np.sin(2 * np.pi * np.arange(100) / 50), atol=2e-3)


def test_25hz_file_is_upsampled_and_labels_take_the_majority(tmp_path: Path) -> None:
    t, acc = _still(8.0, 25.0)
    labels = ["curl" if x < 3.0 else "rest" for x in t]
    f = write_csv(tmp_path / "slow.csv", t, acc, labels=labels)
    ds = import_csv([f], tmp_path / "ds", subject=3)
    assert ds.labels == ["curl", "rest"]
    # Grid samples 0..396 (7.92 s at 50 Hz) -> windows at 0, 50, ..., 250; label switch at sample 150.
    assert np.asarray(ds.start).tolist() == [0, 50, 100, 150, 200, 250]
    assert np.asarray(ds.label).tolist() == [0, 0, 0, 1, 1, 1]  # window 100..199: 50/50 -> lower index
    assert set(np.asarray(ds.subject).tolist()) == {3}
    np.testing.assert_allclose(
        ds.acc[1, :, 0], 0.1 * np.sin(2 * np.pi * (1 + np.arange(100) / 50)), atol=3e-3
    )


def test_cli_imports_several_files_as_recordings(tmp_path: Path) -> None:
    t, acc = _still(5.0, 50.0)
    a = write_csv(tmp_path / "a.csv", t, acc)
    b = write_csv(tmp_path / "b.csv", t, acc, subject=12)
    out = tmp_path / "ds"
    assert main(["data", "import", "csv", str(a), str(b), "--out", str(out), "--label", "x"]) == 0
    ds = Dataset.open(out, verify=True)
    assert len(ds) == 8 and ds.labels == ["x"]
    assert np.asarray(ds.recording).tolist() == [0] * 4 + [1] * 4
    assert np.asarray(ds.subject).tolist() == [1] * 4 + [12] * 4  # file position + 1, or its subject column
    ms = write_csv(tmp_path / "ms.csv", t * 1000.0, acc, time_name="ms_time")
    args = f"data import csv {ms} --out {tmp_path / 'ds2'} --time-col ms_time --time-unit ms".split()
    assert main(args) == 0
    assert Dataset.open(tmp_path / "ds2").manifest["recordings"][0]["source_rate_hz"] == pytest.approx(50.0)


def _rows(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "bad.csv"
    f.write_text(text)
    return f


def _good_rows(n: int = 120, rate_hz: float = 50.0) -> list[str]:
    return [f"{i / rate_hz:.4f},0.0,0.0,1.0" for i in range(n)]


def _refused_at(tmp_path: Path, f: Path, row: int, problem: str) -> None:
    """import_csv refuses ``f`` naming the file, the row and the problem, and writes no dataset."""
    with pytest.raises(CsvFormatError) as e:
        import_csv([f], tmp_path / "ds")
    assert e.value.row == row
    assert f"{f}, row {row}: " in str(e.value) and problem in str(e.value)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize(
    ("make", "row", "problem"),
    [
        (lambda: "t,ax,ay\n" + "\n".join(r[:-4] for r in _good_rows()), 1, "missing column"),
        (lambda: "time,ax,ay,az\n" + "\n".join([*_good_rows()[:5], "0.1,abc,0,1"]), 7, "not a number"),
        (lambda: "t,ax,ay,az\n" + "\n".join([*_good_rows()[:9], "0.1,0,nan,1"]), 11, "NaN or infinite"),
        (lambda: "t,ax,ay,az\n" + "\n".join([*_good_rows()[:3], "0.1,inf,0,1"]), 5, "NaN or infinite"),
        (
            lambda: "t,ax,ay,az\n" + "\n".join([*_good_rows()[:4], "0.06,0,0,1", *_good_rows()[5:]]),
            6,
            "duplicate timestamp",
        ),
        (
            lambda: "t,ax,ay,az\n" + "\n".join([*_good_rows()[:40], "0.5,0,0,1", *_good_rows()[41:]]),
            42,
            "goes back in time",
        ),
        (lambda: "t,ax,ay,az\n" + "\n".join(_good_rows(60)), 61, "shorter than one 2 s window"),
        (lambda: "t,ax,ay,az\n" + "\n".join([*_good_rows()[:3], "0.1,0,0"]), 5, "3 cells for 4 columns"),
        (lambda: "t,ax,ay,az\n", 1, "no data rows"),
        (lambda: "t,ax,ay,az,subject\n0,0,0,1,1\n0.02,0,0,1,2\n", 3, "subject changes from 1 to 2"),
        (lambda: "t,ax,ay,az,label\n0,0,0,1,a\n0.02,0,0,1,\n", 3, "label cell is empty"),
    ],
)
def test_bad_files_name_file_row_and_fix(tmp_path: Path, make, row: int, problem: str) -> None:  # type: ignore[no-untyped-def]
    f = _rows(tmp_path, make())
    _refused_at(tmp_path, f, row, problem)


def test_empty_file_and_unknown_units(tmp_path: Path) -> None:
    empty = _rows(tmp_path, "\n\n")
    with pytest.raises(CsvFormatError, match="the file is empty") as e:
        import_csv([empty], tmp_path / "ds")
    assert e.value.row is None
    good = write_csv(tmp_path / "ok.csv", *_still(3.0, 50.0))
    with pytest.raises(CsvFormatError, match=r"unknown units 'furlongs'.*use one of"):
        import_csv([good], tmp_path / "ds", units="furlongs")


def test_one_bad_file_writes_nothing(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", *_still(5.0, 50.0))
    bad = _rows(tmp_path, "t,ax,ay,az\n" + "\n".join([*_good_rows()[:30], "0.6,0,0,1", "0.5,0,0,1"]))
    out = tmp_path / "ds"
    assert main(["data", "import", "csv", str(good), str(bad), "--out", str(out)]) == 2
    assert not out.exists()


# --- sanity checks (#13 items 10, 11): wrong units and rates are refused with the fix -------------------------


def _sanity_error(tmp_path: Path, t: np.ndarray, acc: np.ndarray, **kw: object) -> str:
    f = write_csv(tmp_path / "x.csv", t, acc)
    with pytest.raises(CsvFormatError) as err:
        import_csv([f], tmp_path / "ds", **kw)  # type: ignore[arg-type]
    assert not (tmp_path / "ds").exists()
    return str(err.value)


def test_millisecond_timestamps_read_as_seconds_are_refused_with_the_time_unit_fix(tmp_path: Path) -> None:
    t, acc = _still(6.0, 50.0)
    msg = _sanity_error(tmp_path, t * 1000, acc)
    assert "0.05 Hz" in msg and "--time-unit ms" in msg
    ds = import_csv([write_csv(tmp_path / "ms.csv", t * 1000, acc)], tmp_path / "ok", time_unit="ms")
    assert len(ds) == 5  # 6 s of data: 5 windows, not thousands


def test_a_5000_g_value_is_refused_at_its_line(tmp_path: Path) -> None:
    t, acc = _still(6.0, 50.0)
    acc[40, 1] = 5000.0
    msg = _sanity_error(tmp_path, t, acc)
    assert "row 42" in msg and "5e+03 g" in msg  # header is line 1, sample 40 is line 42
    acc[40, 1] = 1e300
    assert "row 42" in _sanity_error(tmp_path, t, acc)


@pytest.mark.parametrize(
    ("scale", "units", "fix"),
    [
        (STANDARD_GRAVITY, "g", "--units m/s2"),  # m/s2 data imported as g
        (1.0, "m/s2", "--units g"),  # g data imported as m/s2
        (0.0, "g", "gravity seems removed"),  # linear acceleration: a still watch reads ~0
    ],
)
def test_units_and_gravity_removed_are_caught_by_the_magnitude(
    tmp_path: Path, scale: float, units: str, fix: str
) -> None:
    t, acc = _still(6.0, 50.0)
    acc = acc - [0.0, 0.0, 1.0] if scale == 0.0 else acc * scale
    msg = _sanity_error(tmp_path, t, acc, units=units)
    assert fix in msg and "median |acc|" in msg
    f = write_csv(tmp_path / "y.csv", t, acc)
    assert len(import_csv([f], tmp_path / "forced", units=units, checks=False)) == 5  # --skip-checks


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_semicolon_tab_and_bar_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    t, acc = _still(6.0, 50.0)
    f = write_csv(tmp_path / "c.csv", t, acc)
    f.write_text(f.read_text().replace(",", delimiter))
    ds = import_csv([f], tmp_path / "ds")
    assert len(ds) == 5
    np.testing.assert_allclose(ds.acc[..., 2], 1.0, atol=1e-4)


def test_source_rate_is_measured_over_gap_free_runs_and_upsampling_is_recorded(tmp_path: Path) -> None:
    parts = [_still(4.0, 50.0, start_s=s) for s in (0.0, 10.0, 20.0)]  # 50 Hz with two 6 s gaps
    f = write_csv(
        tmp_path / "g.csv", np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    )
    rec = import_csv([f], tmp_path / "ds").manifest["recordings"][0]
    assert rec["source_rate_hz"] == pytest.approx(50.0) and rec["gap_free_runs"] == 3
    assert rec["upsampled_from_hz"] is None
    t, acc = _still(8.0, 10.0)
    slow = import_csv([write_csv(tmp_path / "s.csv", t, acc)], tmp_path / "slow").manifest["recordings"][0]
    assert slow["upsampled_from_hz"] == pytest.approx(10.0)


# --- ambiguous input is refused, never guessed; --out is checked before anything is read ----------------------


def _long_rows(extra: str = "", n: int = 120) -> list[str]:
    """``n`` good rows at 50 Hz (2.38 s: one window), each with ``extra`` appended."""
    return [r + extra for r in _good_rows(n)]


@pytest.mark.parametrize(
    ("text", "row", "problem"),
    [
        ("t,ax,ay,az,az\n" + "\n".join(_long_rows(",5.0")), 1, "column 'az' appears 2 times"),
        ("t,ax,AX,ay,az\n" + "\n".join(r.replace(",", ",0,", 1) for r in _good_rows()), 1, "'ax' appears 2"),
        (
            "t,ax,ay,az,label,Label\n" + "\n".join(_long_rows(",sit,stand")),
            1,
            "column 'label' appears 2 times",
        ),
        (  # Python's float() reads "1_0" as 10.0
            "t,ax,ay,az\n" + "\n".join([*_good_rows()[:5], "0.1000,0.0,0.0,1_0", *_good_rows()[6:]]),
            7,
            "column az holds '1_0', not a number",
        ),
        ("t,ax,ay,az,subject\n" + "\n".join(_long_rows(",1_0")), 2, "subject '1_0' is not an integer"),
        (  # a European spreadsheet export: ';' between cells, ',' in numbers
            "t;ax;ay;az\n" + "\n".join(r.replace(",", ";").replace(".", ",") for r in _good_rows()),
            2,
            "column t holds '0,0000': the file uses decimal commas",
        ),
        (
            "t,ax,ay,az,label\n" + "\n".join([*_long_rows(",sit")[:3], *_long_rows(",unknown")[3:]]),
            5,
            "the label 'unknown' is the open-set answer",
        ),
        (  # 'Walk ' is stripped to 'Walk', which still differs from 'walk' by case only: refused at its first row
            "t,ax,ay,az,label\n" + "\n".join([*_long_rows(",walk")[:60], *_long_rows(",Walk ")[60:]]),
            62,
            "label 'Walk' differs from 'walk' (",
        ),
    ],
)
def test_ambiguous_files_are_refused_with_row_and_fix(
    tmp_path: Path, text: str, row: int, problem: str
) -> None:
    f = _rows(tmp_path, text)
    _refused_at(tmp_path, f, row, problem)


def test_decimal_commas_say_so_and_decimal_points_still_import(tmp_path: Path) -> None:
    rows = [r.replace(",", ";") for r in _good_rows()]
    ok = _rows(tmp_path, "t;ax;ay;az\n" + "\n".join(rows))
    assert len(import_csv([ok], tmp_path / "ok")) == 1  # ';' with decimal points: unchanged
    comma = tmp_path / "comma.csv"
    comma.write_text("t;ax;ay;az\n" + "\n".join(r.replace(".", ",") for r in rows))
    with pytest.raises(CsvFormatError, match=r"decimal commas\. convert them to decimal points"):
        import_csv([comma], tmp_path / "ds")
    plain = _rows(tmp_path, "t,ax,ay,az\n" + "\n".join([*_good_rows()[:3], "0.06,abc,0,1"]))
    with pytest.raises(CsvFormatError, match=r"holds 'abc', not a number\. fix") as e:
        import_csv([plain], tmp_path / "ds")
    problem = str(e.value).removeprefix(f"{plain}, row 5: ")
    assert "decimal" not in problem and "underscore" not in problem


def test_label_unknown_given_as_flag_is_refused_and_labels_are_stripped(tmp_path: Path) -> None:
    t, acc = _still(3.0, 50.0)
    f = write_csv(tmp_path / "a.csv", t, acc)
    with pytest.raises(CsvFormatError, match=r"^--label: the label 'unknown' is the open-set answer.*rename"):
        import_csv([f], tmp_path / "ds", label=" unknown ")
    assert not (tmp_path / "ds").exists()
    ds = import_csv([f], tmp_path / "ds", label=" sit ")
    assert ds.labels == ["sit"]
    g = write_csv(tmp_path / "b.csv", t, acc, labels=[" walk "] * t.size)
    assert import_csv([f, g], tmp_path / "two", label="walk").labels == ["walk"]  # one class, not two


def test_labels_differing_in_case_across_files_name_both_files(tmp_path: Path) -> None:
    t, acc = _still(3.0, 50.0)
    a = write_csv(tmp_path / "a.csv", t, acc, labels=["walk"] * t.size)
    b = write_csv(tmp_path / "b.csv", t, acc, labels=["run"] * 10 + ["WALK"] * (t.size - 10), subject=2)
    with pytest.raises(CsvFormatError) as e:
        import_csv([a, b], tmp_path / "ds")
    assert e.value.row == 12 and str(e.value).startswith(
        f"{b}, row 12: label 'WALK' differs from 'walk' ({a}, row 2)"
    )
    assert "spell each activity the same way" in str(e.value)
    assert not (tmp_path / "ds").exists()


def test_identical_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t, acc = _still(5.0, 50.0)
    a = write_csv(tmp_path / "a.csv", t, acc)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(a.read_bytes())
    with pytest.raises(CsvFormatError, match=r"given twice, so one recording would be imported twice") as e:
        import_csv([a, a], tmp_path / "ds")
    assert e.value.path == str(a) and e.value.row is None
    with pytest.raises(CsvFormatError, match=rf"copy\.csv: the same bytes as {a} \(sha256 [0-9a-f]{{16}}"):
        import_csv([a, copy], tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    out = tmp_path / "cli"
    assert main(["data", "import", "csv", str(a), str(copy), "--out", str(out)]) == 2
    assert "pass each recording once" in " ".join(capsys.readouterr().out.split()) and not out.exists()
    b = write_csv(tmp_path / "b.csv", t, acc, subject=2)  # same samples, different file: two recordings
    assert len(import_csv([a, b], tmp_path / "ok")) == 8


@pytest.mark.parametrize("force", [False, True])
def test_out_that_is_a_file_is_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], force: bool
) -> None:
    t, acc = _still(3.0, 50.0)
    src = write_csv(tmp_path / "good.csv", t, acc)
    before = src.read_bytes()
    args = ["data", "import", "csv", str(src), "--out", str(src), *(["--force"] if force else [])]
    assert main(args) == 2
    said = " ".join(capsys.readouterr().out.split())
    assert f"error: --out {src} is an existing file, not a dataset folder" in said
    assert "never replaced (not even with --force)" in said
    assert src.read_bytes() == before
    with pytest.raises(DataError, match=r"good\.csv is a file, not a folder; choose another --out"):
        import_csv([src], src / "sub", overwrite=force)
    assert src.read_bytes() == before


def test_out_that_cannot_be_created_says_so_and_leaves_nothing(tmp_path: Path) -> None:
    t, acc = _still(3.0, 50.0)
    src = write_csv(tmp_path / "good.csv", t, acc)
    if Path("/proc/self").is_dir():  # Linux: /proc accepts no new folders, even for root
        with pytest.raises(
            DataError, match=r"cannot create or write the dataset folder /proc/mujo_ds in /proc \("
        ):
            import_csv([src], "/proc/mujo_ds")
    existing = tmp_path / "existing"
    import_csv([src], existing)
    with pytest.raises(
        DataError, match="already holds a dataset; choose another --out, remove it first, or pass"
    ):
        import_csv([src], existing)
    assert len(import_csv([src], existing, overwrite=True)) == 2  # 3 s: 2 windows
    nested = tmp_path / "a" / "b" / "ds"
    bad = _rows(tmp_path, "t,ax,ay,az\n0,0,0,1\n")
    with pytest.raises(CsvFormatError):
        import_csv([bad], nested)  # the probe's folders are removed again
    assert not (tmp_path / "a").exists()
    assert len(import_csv([src], nested)) == 2
