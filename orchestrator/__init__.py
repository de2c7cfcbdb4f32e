"""qcloop: a research-loop orchestrator for QuantConnect."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qcloop")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
