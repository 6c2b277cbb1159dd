"""Real motion capture into the dataset format: BVH, CMU ASF/AMC and DeepMimic clips, through the virtual IMU.

Readers (:func:`read_bvh`, :func:`read_asf_amc`, :func:`read_deepmimic`) map each format's skeleton onto the
17 Human3.6M joints in metres, z up, floor at 0 (:class:`MocapClip`); :func:`import_mocap` and
:func:`import_clips` resample to 50 Hz, put a virtual watch on the wrist and write windows, pose and texts;
:mod:`.sources` fetches the real clips that ship inside packages (``mujo-edge data import mocap-demo``).
"""

from .asf import read_asf_amc
from .bvh import read_bvh
from .clip import MocapClip, bone_lengths, clip_on_grid
from .deepmimic import read_deepmimic
from .importer import LabelledClip, clip_recordings, import_clips, import_mocap, read_clips

__all__ = [
    "LabelledClip",
    "MocapClip",
    "bone_lengths",
    "clip_on_grid",
    "clip_recordings",
    "import_clips",
    "import_mocap",
    "read_asf_amc",
    "read_bvh",
    "read_clips",
    "read_deepmimic",
]
