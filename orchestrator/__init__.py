"""qcloop: a research-loop orchestrator for QuantConnect."""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("qcloop")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

# The built-in strategy and notebook templates. `_templates` is a symlink to the repository's top-level
# templates/ folder, so that a source checkout or an editable install reads them in place and a wheel
# build copies them into the package (package-data follows the link).
BUILTIN_TEMPLATES = Path(__file__).parent / "_templates"
