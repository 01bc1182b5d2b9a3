"""`ledger demo`: a deterministic, realistic AI-cloud history recorded through the ledger service.

- ``cast``: who and what (the Series B, the UK and Norwegian campuses, the fleet, the tenants),
  with the sources and the illustrative figures stated;
- ``timeline``: the scales, the simulated clock and the state the simulation keeps;
- ``history``: the discrete-event simulation that drives ``domain.Ledger`` on a simulated clock;
- ``runner``: the command (reset, build, catch the projections up, print);
- ``reports``: the tables the demo prints; ``database``: ``--reset``.
"""

from cli.demo.history import DemoHistory
from cli.demo.runner import DemoOptions, build_history, run_demo
from cli.demo.timeline import HISTORY_END, SCALES

__all__ = ["HISTORY_END", "SCALES", "DemoHistory", "DemoOptions", "build_history", "run_demo"]
