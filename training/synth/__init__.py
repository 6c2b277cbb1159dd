"""The synthetic multimodal fitness corpus: procedural 3D motion, a virtual wrist IMU, activity texts.

- :mod:`.skeleton`: the 17-joint body and forward kinematics (z-up world, metres).
- :mod:`.motion`: activities as joint-angle programs; subjects with style, reps, fatigue.
- :mod:`.imu`: :func:`virtual_imu` for any 3D pose sequence, :class:`SensorModel`.
- :mod:`.workout`: :func:`simulate_workout` renders a script of sets and rests.
- :mod:`.text`: titles and descriptions per activity.
- :mod:`.corpus`: :func:`generate_corpus` writes a dataset folder (``mujo-edge data synth``).
"""

from __future__ import annotations

from .imu import ImuSample, SensorModel, mounting_about_z, virtual_imu
from .motion import ACTIVITIES, EXERCISES, MMFIT_NAMES, NON_ACTIVITY, REST_KINDS, SEGLEARN_NAMES
from .workout import WorkoutRecording, parse_script, simulate_workout

__all__ = [
    "ACTIVITIES",
    "EXERCISES",
    "MMFIT_NAMES",
    "NON_ACTIVITY",
    "REST_KINDS",
    "SEGLEARN_NAMES",
    "ImuSample",
    "SensorModel",
    "WorkoutRecording",
    "mounting_about_z",
    "parse_script",
    "simulate_workout",
    "virtual_imu",
]
