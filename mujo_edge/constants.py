"""The paper's numbers, named once.

Every module takes its defaults from here; no other file repeats these literals. Sources: MuJo (Fritsch,
Oguz et al. 2024) sections 3-5 and the MM-Fit preprocessing it follows.
"""

from __future__ import annotations

#: Grid rate of every window the toolkit handles, Hz.
RATE_HZ: float = 50.0
#: The highest sensor rate a stream may claim, Hz (watch accelerometers stream 12.5-1,600 Hz; Polar's offers
#: stop at 10,000): a higher one is a corrupt header or config, not a sensor.
MAX_SOURCE_RATE_HZ: float = 10_000.0
#: Samples per window (2 s at 50 Hz).
WINDOW: int = 100
#: Samples between window starts (1 s at 50 Hz, 50 % overlap).
HOP: int = 50
#: Accelerometer channels, in this order.
ACC_AXES: tuple[str, str, str] = ("x", "y", "z")
#: Standard gravity, m/s^2 (to convert m/s^2 to g).
STANDARD_GRAVITY: float = 9.80665
#: Number of joints of the Human3.6M / VideoPose3D skeleton used for pose.
N_JOINTS: int = 17
#: Dimension of the joint (shared) embedding space.
JOINT_DIM: int = 1280
#: Downstream learning rate (section 5.1).
LEARNING_RATE: float = 1e-4
#: Maximum downstream epochs (section 5.1).
MAX_EPOCHS: int = 200
#: Early-stopping patience in epochs (section 5.1).
PATIENCE: int = 25
#: Independent runs per configuration in the paper.
PAPER_SEEDS: int = 20
#: Training fractions of the evaluation protocol, in percent.
TRAIN_FRACTIONS_PCT: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100)
#: Quantiles per channel in a PIT calibration table.
PIT_QUANTILES: int = 256
#: Label of a window the bundle's open-set test rejects (it is unlike every activity the bundle knows).
UNKNOWN_LABEL: str = "unknown"
#: Fraction of KNOWN validation windows the open-set threshold keeps known (its 5 % quantile score).
OPEN_SET_KEEP: float = 0.95
#: The keep fractions at which a bundle also records its open-set threshold (``open_set.keep_curve``), so that
#: a device can trade false ``unknown`` flips for missed unknowns without the training data
#: (``mujo-edge stream --open-set-keep F``): 0.50, 0.51, ..., 0.99 and 1.
OPEN_SET_KEEP_GRID: tuple[float, ...] = tuple(k / 100 for k in range(50, 101))
#: What ``mujo-edge export --per-tensor-weights`` can name: no layer, the dense layers (pointwise convs, head,
#: embedding), or every quantized layer (``mujo_edge.export.quantize.per_tensor_modules``).
PER_TENSOR_CHOICES: tuple[str, ...] = ("none", "pointwise", "all")
#: Softmax scale of cosine heads (words and taught bundles): logits = scale * cosine.
TEXT_HEAD_SCALE: float = 20.0

#: ``mujo-edge benchmark``: labelled windows per class, training fractions (percent) and seeds (issue 11).
BENCHMARK_SHOTS: tuple[int, ...] = (1, 2, 5, 10)
BENCHMARK_FRACTIONS_PCT: tuple[float, ...] = (1, 2, 10, 100)
BENCHMARK_SEEDS: int = 3
#: ``mujo-edge benchmark``'s training-loop budget: the paper's lr and loss, but at most 60 epochs and a
#: patience of 10 so that a dataset's whole grid fits on 2 CPU cores (docs/benchmark-protocol.md).
BENCHMARK_MAX_EPOCHS: int = 60
BENCHMARK_PATIENCE: int = 10
#: Largest shipped foundation checkpoint (``training/assets/joint_space``, all files together), bytes.
FOUNDATION_MAX_BYTES: int = 10_000_000
#: Corpus acc windows per label the foundation checkpoint keeps for PIT calibration (float16).
FOUNDATION_CALIBRATION_WINDOWS: int = 32

#: Axis convention of every accelerometer array: the frame of a watch on the RIGHT wrist, specific force in g.
#: x along the forearm towards the hand, y across the wrist towards the thumb, z out of the watch face.
#: Left-wrist recordings are mirrored into it (``mujo_edge.axes.mirror_left_wrist``: x -> -x).
AXIS_CONVENTION: str = (
    "right-wrist watch frame: x along the forearm towards the hand, y across the wrist towards the thumb, "
    "z out of the watch face; left-wrist data mirrored into it (x -> -x; gyro y, z -> -y, -z); "
    "specific force in g (a watch lying face-up reads z = +1 g)"
)

#: The 17 joints in Human3.6M / VideoPose3D order.
H36M_JOINTS: tuple[str, ...] = (
    "hip",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "spine",
    "thorax",
    "neck",
    "head",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
)
#: The output a ``.tflite`` model may carry besides ``logits`` and ``embedding``: the float32 softmax of the
#: logits computed by the runtime (``mujo_edge.export.tflite_slim.with_probabilities``).
PROBABILITIES: str = "probabilities"
#: Largest relative difference export allows between that output and the float64 softmax of the logits
#: (LiteRT's float32 softmax kernels stay within 1.3e-6 on the shipped models).
PROBABILITIES_RTOL: float = 1e-5
