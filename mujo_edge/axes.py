"""The watch axis convention, and mirroring a left-wrist watch into it.

Every accelerometer array in MuJo Edge (datasets, the synthetic corpus, the live stream) is in the frame of
:data:`~mujo_edge.constants.AXIS_CONVENTION`: the frame of a watch on the RIGHT wrist. A real (right-handed)
watch on the left wrist is the mirror image: its x axis points to the elbow where a right-wrist watch's points to
the hand, while y (thumb side) and z (out of the face) agree (seen in the real seglearn recordings: hanging arm
x = -1.08 g right, +1.01 g left). :func:`mirror_left_wrist` maps left-wrist device axes into the convention, so
one model serves both wrists.
"""

from __future__ import annotations

import numpy as np

#: Sign flips that mirror a left-wrist watch into the right-wrist frame: acceleration is a vector ...
LEFT_WRIST_ACC_SIGNS = np.array([-1.0, 1.0, 1.0], dtype=np.float32)
#: ... angular rate a pseudo-vector, so under the same reflection its other two components flip.
LEFT_WRIST_GYR_SIGNS = np.array([1.0, -1.0, -1.0], dtype=np.float32)


def mirror_left_wrist(
    acc_g: np.ndarray, gyr_rad_s: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Map left-wrist device axes into the convention (and back: the mirror is its own inverse).

    Args:
        acc_g: (..., 3) specific force in g, left-wrist device axes.
        gyr_rad_s: optional (..., 3) angular rate in rad/s, same frame.
    Returns:
        ``(acc_g, gyr_rad_s)`` in the right-wrist frame, new arrays of the input dtypes.
    """
    acc = (acc_g * LEFT_WRIST_ACC_SIGNS).astype(acc_g.dtype, copy=False)
    gyr = (
        None if gyr_rad_s is None else (gyr_rad_s * LEFT_WRIST_GYR_SIGNS).astype(gyr_rad_s.dtype, copy=False)
    )
    return acc, gyr
