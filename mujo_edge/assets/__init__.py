"""Package data: the shipped default model bundle (default.mujo); see README.md here for how it was made."""

from pathlib import Path

#: The bundle every command and example uses when given none: seven seglearn shoulder exercises, int8.
DEFAULT_BUNDLE = Path(__file__).resolve().parent / "default.mujo"
