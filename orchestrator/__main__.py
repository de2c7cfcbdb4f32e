"""`python -m orchestrator` is `qcloop`."""

from orchestrator.main import entry_point

entry_point()
