"""The MuJo networks: per-modality encoders and projections into the joint space, and classifiers on top.

Every window-level model takes windows as ``(B, WINDOW, C)`` tensors in the dataset's units:

- ``acc``:   (B, 100, 3) float32, specific force in g (watch frame, ``AXIS_CONVENTION``)
- ``pose``:  (B, 100, 17, 3) float32, metres, H36M joint order (made root-relative inside the encoder)
- ``gyr``:   (B, 100, 3) float32, rad/s
- ``text``:  (B, 384) float32, frozen sentence embeddings (``mujo_edge.training.text.encode_texts``)
- ``video``: (B, F) float32, user-supplied video features

Encoders (paper section 4): the MM-Fit 1D CNN for accelerometer and pose (``cnn="mmfit"``: Conv1d 3->9->15->24,
stride 2, kernel 11 for acc / 3 for pose and gyro, then max-pool) or a wider variant (``cnn="wide"``: 32->64->128
channels with GroupNorm, transfers better); one FC layer for text; two FC layers for video. Every modality then
has a projection of ``proj_layers`` FC layers into ``joint_dim`` (default ``JOINT_DIM`` = 1280).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import Tensor, nn

from mujo_edge._checks import count, names, number
from mujo_edge.constants import JOINT_DIM, N_JOINTS, WINDOW
from mujo_edge.errors import ArtifactError, ConfigError, ShapeError

#: Window-level modalities (a tensor per window); ``text`` is per caption.
WINDOW_MODALITIES: tuple[str, ...] = ("acc", "pose", "gyr", "video")
ALL_MODALITIES: tuple[str, ...] = ("acc", "pose", "gyr", "video", "text")
#: Channel counts of the CNN variants.
CNN_CHANNELS: dict[str, tuple[int, ...]] = {"mmfit": (9, 15, 24), "wide": (32, 64, 128)}
#: First-layer kernel per modality (MM-Fit: 11 for accelerometer, 3 for gyroscope).
CNN_KERNEL: dict[str, int] = {"acc": 11, "gyr": 3, "pose": 3}
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


@dataclass
class ModelConfig:
    """Architecture of a :class:`JointModel` (stored in every checkpoint manifest)."""

    modalities: tuple[str, ...] = ("acc", "pose", "text")
    joint_dim: int = JOINT_DIM
    window: int = WINDOW
    cnn: str = "wide"
    proj_layers: int = 2
    proj_hidden: int = 512
    text_hidden: int = 512
    video_dim: int = 0
    video_hidden: int = 512
    dropout: float = 0.1
    activation: str = "relu"
    temperature: float = 0.07
    learnable_temperature: bool = False

    def __post_init__(self) -> None:
        mods = names(
            self.modalities,
            "modalities",
            f"pass a tuple of names from {ALL_MODALITIES}, e.g. ('acc', 'text')",
        )
        self.modalities = tuple(mods)
        unknown = [m for m in self.modalities if m not in ALL_MODALITIES]
        if unknown or len(self.modalities) < 1:
            raise ConfigError(
                f"modalities must be a non-empty subset of {ALL_MODALITIES}, got {self.modalities}: drop {unknown}"
                if unknown
                else f"modalities is empty: name at least one of {ALL_MODALITIES}"
            )
        if self.cnn not in CNN_CHANNELS:
            raise ConfigError(f"cnn must be one of {sorted(CNN_CHANNELS)}, got {self.cnn!r}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        for name, lo in (
            ("joint_dim", 1),
            ("window", 1),
            ("proj_layers", 1),
            ("proj_hidden", 1),
            ("text_hidden", 1),
            ("video_dim", 0),
            ("video_hidden", 1),
        ):
            count(getattr(self, name), name, lo, "pass a whole number")
        if "video" in self.modalities and self.video_dim <= 0:
            raise ConfigError("the video modality needs video_dim (the feature size F of video.npy)")
        number(self.dropout, "dropout", 0.0, 1.0, above_lo=False, fix="pass a probability such as 0.1")
        if self.dropout >= 1:
            raise ConfigError(
                f"dropout must be below 1, got {self.dropout!r}: 1 drops every unit; pass e.g. 0.1"
            )
        number(self.temperature, "temperature", 0.0, 10.0, fix="pass e.g. 0.07")
        if self.temperature >= 10:
            raise ConfigError(f"temperature must be in (0, 10), got {self.temperature!r}: pass e.g. 0.07")
        if not isinstance(self.learnable_temperature, bool):
            raise ConfigError(
                f"learnable_temperature must be True or False, got {type(self.learnable_temperature).__name__} "
                f"{self.learnable_temperature!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["modalities"] = list(self.modalities)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        extra = sorted(set(d) - known)
        if extra:
            raise ArtifactError(
                f"model config has fields this mujo-edge does not know: {extra}; upgrade mujo-edge or retrain."
            )
        return cls(**d)


class CnnEncoder(nn.Module):
    """MM-Fit-style 1D CNN over a window: (B, T, C) -> (B, out_dim).

    Three Conv1d layers with stride 2 (first kernel per modality, then 5), activation and dropout, a
    max-pool over pairs of steps and a flatten, as MM-Fit's sensor encoder.
    """

    def __init__(self, in_channels: int, kernel: int, variant: str, window: int, dropout: float, act: str):
        super().__init__()
        channels = CNN_CHANNELS[variant]
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, c_out in enumerate(channels):
            k = kernel if i == 0 else min(kernel, 5)
            layers.append(nn.Conv1d(c_in, c_out, k, stride=2, padding=k // 2))
            if variant == "wide":
                layers.append(nn.GroupNorm(min(8, c_out), c_out))
            layers += [ACTIVATIONS[act](), nn.Dropout(dropout)]
            c_in = c_out
        layers.append(nn.MaxPool1d(2, ceil_mode=True))
        self.net = nn.Sequential(*layers)
        with torch.no_grad():
            self.out_dim = int(self.net(torch.zeros(1, in_channels, window)).numel())
        self.in_channels = in_channels
        self.window = window

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[1] != self.window or x.shape[2] != self.in_channels:
            raise ShapeError(
                f"encoder expects windows (B, {self.window}, {self.in_channels}), got {tuple(x.shape)}; "
                "resample to the 50 Hz grid and cut windows with mujo_edge.windows first."
            )
        return self.net(x.transpose(1, 2)).flatten(1)


class PoseEncoder(nn.Module):
    """Pose (B, T, 17, 3) metres -> root-relative (B, T, 51) -> CNN."""

    def __init__(self, cnn: CnnEncoder):
        super().__init__()
        self.cnn = cnn
        self.out_dim = cnn.out_dim

    def forward(self, pose_m: Tensor) -> Tensor:
        if pose_m.ndim != 4 or pose_m.shape[2:] != (N_JOINTS, 3):
            raise ShapeError(f"pose must be (B, T, {N_JOINTS}, 3) metres, got {tuple(pose_m.shape)}")
        rel = pose_m - pose_m[:, :, :1, :]
        return self.cnn(rel.flatten(2))


def _mlp(in_dim: int, hidden: int, out_dim: int, layers: int, dropout: float, act: str) -> nn.Sequential:
    """``layers`` Linear layers in_dim -> hidden ... -> out_dim with activation+dropout between them."""
    mods: list[nn.Module] = []
    d = in_dim
    for _ in range(layers - 1):
        mods += [nn.Linear(d, hidden), ACTIVATIONS[act](), nn.Dropout(dropout)]
        d = hidden
    mods.append(nn.Linear(d, out_dim))
    return nn.Sequential(*mods)


def build_encoder(modality: str, cfg: ModelConfig, text_dim: int) -> nn.Module:
    """The encoder e_m of one modality; it has an ``out_dim`` attribute."""
    act, p = cfg.activation, cfg.dropout
    enc: nn.Module
    if modality in ("acc", "gyr"):
        enc = CnnEncoder(3, CNN_KERNEL[modality], cfg.cnn, cfg.window, p, act)
    elif modality == "pose":
        enc = PoseEncoder(CnnEncoder(N_JOINTS * 3, CNN_KERNEL["pose"], cfg.cnn, cfg.window, p, act))
    elif modality == "text":
        enc = nn.Sequential(nn.Linear(text_dim, cfg.text_hidden), ACTIVATIONS[act]())
        enc.out_dim = cfg.text_hidden  # type: ignore[assignment]
    elif modality == "video":
        enc = nn.Sequential(
            nn.Linear(cfg.video_dim, cfg.video_hidden),
            ACTIVATIONS[act](),
            nn.Dropout(p),
            nn.Linear(cfg.video_hidden, cfg.video_hidden),
            ACTIVATIONS[act](),
        )
        enc.out_dim = cfg.video_hidden  # type: ignore[assignment]
    else:  # pragma: no cover - ModelConfig validates modalities
        raise ValueError(modality)
    return enc


class JointModel(nn.Module):
    """Encoders + projections of every modality into one joint space (paper eq. 1-3).

    ``forward(batch)`` maps ``{modality: tensor}`` to ``{modality: (B, joint_dim) projection}`` (not
    normalized; the loss normalizes) plus ``"logit_scale"`` (a 0-d tensor, 1/temperature), so DDP sees every
    parameter used inside forward.
    """

    def __init__(self, cfg: ModelConfig, text_dim: int = 384):
        super().__init__()
        self.cfg = cfg
        self.text_dim = text_dim
        self.encoders = nn.ModuleDict({m: build_encoder(m, cfg, text_dim) for m in cfg.modalities})
        self.projections = nn.ModuleDict(
            {
                m: _mlp(
                    int(self.encoders[m].out_dim),  # type: ignore[arg-type]
                    cfg.proj_hidden,
                    cfg.joint_dim,
                    cfg.proj_layers,
                    cfg.dropout,
                    cfg.activation,
                )
                for m in cfg.modalities
            }
        )
        init = torch.tensor(math.log(1.0 / cfg.temperature))
        if cfg.learnable_temperature:
            self.log_scale = nn.Parameter(init)
        else:
            self.register_buffer("log_scale", init)

    def embed(self, modality: str, x: Tensor) -> Tensor:
        """rep_m(x) = p_m(e_m(x)): (B, joint_dim), not normalized."""
        if modality not in self.encoders:
            raise ShapeError(
                f"this model has no {modality!r} encoder (it was pretrained on {list(self.cfg.modalities)})"
            )
        return self.projections[modality](self.encoders[modality](x))

    def logit_scale(self) -> Tensor:
        """1 / temperature, clamped to at most 100 as CLIP does."""
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        out = {m: self.embed(m, x) for m, x in batch.items() if m in self.encoders}
        out["logit_scale"] = self.logit_scale()
        return out


@dataclass
class HeadConfig:
    """The 2-layer classification head cl on top of the concatenated projections (paper 5.1)."""

    inputs: tuple[str, ...] = ("acc",)
    n_classes: int = 2
    hidden: int = 256
    dropout: float = 0.2
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["inputs"] = list(self.inputs)
        return d


class Classifier(nn.Module):
    """Encoder(s) + projection(s) + 2-layer head: C(x) = cl(concat_m p_m(e_m(x_m))).

    ``forward(acc_g)`` for a unimodal classifier takes the window tensor directly, e.g. (B, 100, 3) g; a
    multimodal one takes ``{modality: tensor}``. Returns logits (B, n_classes). ``embed`` returns the
    joint-space projection (B, joint_dim * len(inputs)).
    """

    def __init__(self, joint: JointModel, head: HeadConfig):
        super().__init__()
        missing = [m for m in head.inputs if m not in joint.encoders]
        if missing:
            raise ConfigError(
                f"inputs {missing} have no encoder in the joint model ({list(joint.encoders)}); "
                "choose inputs the pretrained model has"
            )
        self.head_cfg = head
        self.joint_cfg = joint.cfg
        self.text_dim = joint.text_dim
        self.inputs = tuple(head.inputs)
        self.encoders = nn.ModuleDict({m: joint.encoders[m] for m in self.inputs})
        self.projections = nn.ModuleDict({m: joint.projections[m] for m in self.inputs})
        act = ACTIVATIONS[joint.cfg.activation]
        self.head = nn.Sequential(
            nn.Linear(joint.cfg.joint_dim * len(self.inputs), head.hidden),
            act(),
            nn.Dropout(head.dropout),
            nn.Linear(head.hidden, head.n_classes),
        )
        self.labels = list(head.labels)

    def embed(self, x: Tensor | dict[str, Tensor]) -> Tensor:
        xs = x if isinstance(x, dict) else {self.inputs[0]: x}
        return torch.cat([self.projections[m](self.encoders[m](xs[m])) for m in self.inputs], dim=1)

    def forward(self, x: Tensor | dict[str, Tensor]) -> Tensor:
        return self.head(self.embed(x))

    def backbone_parameters(self) -> list[nn.Parameter]:
        return [*self.encoders.parameters(), *self.projections.parameters()]
