"""A local emulator of QuantConnect's API v2, served on 127.0.0.1 (``docs/emulator.md``).

Built the way moto builds a cloud service:

- ``backend.py`` holds the state and the rules and knows nothing of HTTP: one mixin per area
  (``projects.py``, ``backtests.py``, ``optimizations.py``, ``object_store.py``, ``live.py``) on
  ``core.py``, with pure rules in ``compiler.py``, ``optimization_rules.py``, ``object_rules.py``,
  ``live_rules.py``, ``patching.py``, records in ``state.py``, saving in ``persistence.py``, job
  visibility in ``timing.py`` and the engine call in ``runner.py``;
- ``params.py`` and ``responses.py`` parse requests and shape replies (``wire.py`` holds the JSON
  shapes); ``urls.py`` is the route table; ``errors.py`` the typed failures with their wire form;
- ``app.py`` is the WSGI application (authentication in ``auth.py``, faults, the envelope) and
  ``server.py`` runs it on a real socket; ``faults.py`` injects seeded faults;
- ``operator.py`` is the simulated person who clicks Run All on a research notebook.

Nothing on qcloop's runtime path imports this package.
"""

from orchestrator.emulator.backend import EmulatorBackend
from orchestrator.emulator.faults import Fault, FaultKind, FaultPlan, parse_fault_spec
from orchestrator.emulator.server import EmulatorServer
from orchestrator.emulator.timing import Timing

__all__ = [
    "EmulatorBackend",
    "EmulatorServer",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "Timing",
    "parse_fault_spec",
]
