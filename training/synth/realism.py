"""How close the synthetic shoulder exercises are to the real seglearn watch recordings.

Both sides are compared in the right-wrist frame of ``AXIS_CONVENTION`` (real left-side recordings mirrored as
the seglearn importer does, synthetic left-wrist sessions mirrored by the generator). For each of the seven
exercises: per-axis mean and standard deviation over 2-s windows (the mean of the per-window values) and the
dominant frequency (peak of the average over recordings of each one's normalized Welch spectrum, summed over
the mean-removed axes; 0.1 Hz resolution). A second check trains a classifier on synthetic windows only and tests it on every
real window of the training subjects 1-7 (the only seglearn subjects the generator is ever compared with) (sim-to-real macro-F1 over the seven classes): the number that says whether the generator's
shoulder exercises are recognisable as the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import welch

from mujo_edge.constants import HOP, RATE_HZ, WINDOW
from mujo_edge.windows import sliding_windows

from .imu import SensorModel
from .motion import SEGLEARN_NAMES
from .workout import simulate_workout

SHOULDER = tuple(SEGLEARN_NAMES)


@dataclass
class Recordings:
    """Per-exercise lists of (n, 3) accelerometer (g) and gyroscope (rad/s) recordings, convention frame."""

    acc: dict[str, list[np.ndarray]]
    gyr: dict[str, list[np.ndarray]] | None = None


#: The seglearn subjects the generator may be compared with (its training subjects). Subject 8 validates and
#: subjects 9 and 10 test every model trained on the corpus, so they never enter a realism table.
TUNING_SUBJECTS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)


def real_recordings(subjects: tuple[int, ...] = TUNING_SUBJECTS) -> Recordings:
    """The seglearn watch recordings of ``subjects`` (default the training subjects 1-7), left side mirrored
    into the convention (x -> -x)."""
    from mujo_edge.training.data.seglearn import load_watch

    raw = load_watch()
    out: dict[str, list[np.ndarray]] = {k: [] for k in SHOULDER}
    gyr: dict[str, list[np.ndarray]] = {k: [] for k in SHOULDER}
    keep = {int(s) for s in subjects}
    for x, y, side, subj in zip(raw["X"], raw["y"], raw["side"], raw["subject"], strict=True):
        if int(subj) not in keep:
            continue
        acc = np.asarray(x[:, :3], dtype=np.float64)
        w = np.asarray(x[:, 3:6], dtype=np.float64)
        if int(side) == 0:  # left: mirror (acceleration a vector, angular rate a pseudo-vector)
            acc = acc * [-1.0, 1.0, 1.0]
            w = w * [1.0, -1.0, -1.0]
        out[SHOULDER[int(y)]].append(acc)
        gyr[SHOULDER[int(y)]].append(w)
    return Recordings(out, gyr)


def synthetic_recordings(
    n_subjects: int = 10, seconds: float = 35.0, seed: int = 0, sensor: SensorModel | None = None
) -> Recordings:
    """One recording per subject, exercise and wrist, like the seglearn protocol (convention frame)."""
    out: dict[str, list[np.ndarray]] = {k: [] for k in SHOULDER}
    gyr: dict[str, list[np.ndarray]] = {k: [] for k in SHOULDER}
    for s in range(n_subjects):
        for wrist in ("left", "right"):
            for i, ex in enumerate(SHOULDER):
                rec = simulate_workout(
                    [{"rest": 3, "kind": "standing"}, {"activity": ex, "seconds": seconds}],
                    seed=seed * 100_000 + s * 100 + i * 2 + (wrist == "left"),
                    wrist=wrist,
                    sensor=sensor,
                    frame="convention",
                )
                m = rec.label == rec.labels.index(ex)
                out[ex].append(rec.acc_g[m].astype(np.float64))
                gyr[ex].append(rec.gyr_rad_s[m].astype(np.float64))
    return Recordings(out, gyr)


@dataclass
class ExerciseStats:
    mean: np.ndarray  #: (3,) g, mean over windows of the window mean
    std: np.ndarray  #: (3,) g, mean over windows of the window standard deviation
    freq_hz: float  #: peak of the recordings' average normalized spectrum


def _spectrum(acc: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch spectrum of one recording, summed over axes, mean removed, normalized to unit total power."""
    n = min(512, len(acc))
    f, p = welch(acc - acc.mean(0), fs=rate_hz, nperseg=n, nfft=512, axis=0)
    p = p.sum(1)
    return f, p / max(float(p.sum()), 1e-12)


def dominant_frequency(acc: np.ndarray | list[np.ndarray], rate_hz: float = RATE_HZ) -> float:
    """Peak between 0.15 and 5 Hz of the Welch spectrum (summed over axes, mean removed) of one recording,
    or of the average of the normalized spectra of several (robust where a harmonic nearly ties)."""
    recs = [acc] if isinstance(acc, np.ndarray) else acc
    spectra = [_spectrum(a, rate_hz) for a in recs]
    f = spectra[0][0]
    p = np.mean([s[1] for s in spectra], axis=0)
    band = (f >= 0.15) & (f <= 5.0)
    return float(f[band][np.argmax(p[band])])


def exercise_stats(recs: Recordings) -> dict[str, ExerciseStats]:
    out = {}
    for ex, items in recs.acc.items():
        win = np.concatenate([sliding_windows(a, WINDOW, HOP) for a in items])
        out[ex] = ExerciseStats(
            mean=win.mean(1).mean(0),
            std=win.std(1).mean(0),
            freq_hz=dominant_frequency(items),
        )
    return out


def window_features(win: np.ndarray) -> np.ndarray:
    """Hand-made features of (n, WINDOW, 3) windows: per axis mean, std, min, max, 10/90 % quantiles, mean
    absolute first difference; norm mean and std; the dominant frequency. (n, 27)."""
    norm = np.linalg.norm(win, axis=2)
    spec = np.abs(np.fft.rfft(win - win.mean(1, keepdims=True), axis=1)).sum(2)
    freq = np.fft.rfftfreq(win.shape[1], 1.0 / RATE_HZ)[spec[:, 1:].argmax(1) + 1]
    parts = [
        win.mean(1),
        win.std(1),
        win.min(1),
        win.max(1),
        np.quantile(win, 0.1, axis=1),
        np.quantile(win, 0.9, axis=1),
        np.abs(np.diff(win, axis=1)).mean(1),
        norm.mean(1, keepdims=True),
        norm.std(1, keepdims=True),
        freq[:, None],
    ]
    return np.concatenate(parts, axis=1)


def sim_to_real_f1(synth: Recordings, real: Recordings, seed: int = 0) -> tuple[float, np.ndarray]:
    """Train a random forest on synthetic windows, test on real ones: (macro-F1, (7, 7) confusion matrix)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import confusion_matrix, f1_score

    def xy(recs: Recordings) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for i, ex in enumerate(SHOULDER):
            w = np.concatenate([sliding_windows(a, WINDOW, HOP) for a in recs.acc[ex]])
            xs.append(window_features(w))
            ys.append(np.full(len(w), i))
        return np.concatenate(xs), np.concatenate(ys)

    x_s, y_s = xy(synth)
    x_r, y_r = xy(real)
    clf = RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=seed, n_jobs=1)
    clf.fit(x_s, y_s)
    pred = clf.predict(x_r)
    return float(f1_score(y_r, pred, average="macro")), confusion_matrix(
        y_r, pred, labels=range(len(SHOULDER))
    )


def realism_table(synth: Recordings, real: Recordings) -> list[dict[str, object]]:
    """Rows per exercise: real and synthetic mean / std per axis and dominant frequency."""
    s, r = exercise_stats(synth), exercise_stats(real)
    rows = []
    for ex in SHOULDER:
        rows.append(
            {
                "exercise": ex,
                "real_mean": r[ex].mean,
                "synth_mean": s[ex].mean,
                "real_std": r[ex].std,
                "synth_std": s[ex].std,
                "real_freq_hz": r[ex].freq_hz,
                "synth_freq_hz": s[ex].freq_hz,
            }
        )
    return rows


def gyro_std(recs: Recordings) -> dict[str, np.ndarray]:
    """Per exercise, the standard deviation of the angular rate per axis over all samples, (3,) rad/s."""
    if recs.gyr is None:
        return {}
    return {ex: np.concatenate(items).std(axis=0) for ex, items in recs.gyr.items()}
