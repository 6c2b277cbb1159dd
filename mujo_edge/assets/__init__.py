"""Package data: the shipped model bundles; see README.md here for how each was made."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent

#: The bundle every command and example uses when given none: 20 everyday activities and common exercises
#: of a wrist-worn watch (walking, running, stairs, sitting, standing, lying, cycling, gym moves), int8, with
#: an open-set test that answers ``unknown`` for windows unlike them.
DEFAULT_BUNDLE = _HERE / "default.mujo"
#: The seven seglearn shoulder-physiotherapy exercises (PEN ABD FEL IR ER TRAP ROW), fine-tuned on real
#: watch data; its 7,663-parameter student is the one sized for watch firmware (TensorFlow Lite Micro).
PHYSIO_BUNDLE = _HERE / "shoulder_physio.mujo"
