"""Market data for the local platform on a fresh machine: seeded synthetic data, made once.

``qcloop run`` calls ``ensure_synthetic_data`` when the workspace uses its own ``data/`` folder (no
``data.folder`` in qcloop.yaml) and that folder holds no complete data set. The set covers qcloop's
default symbols plus every ticker the hypotheses name, over the engine generator's default period
(stretched to cover the hypotheses' periods), and is labelled synthetic wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from orchestrator.config import Settings
from orchestrator.hypotheses import hypothesis_files

WARM_UP_DAYS = 400  # calendar days of data before a hypothesis's start, for indicators' warm-up


def _complete(folder: Path) -> bool:
    from orchestrator.engine.synth import SYNTHETIC_MARKER

    marker = folder / SYNTHETIC_MARKER
    if not (folder / "equity" / "usa" / "daily").is_dir():
        return False
    if not marker.is_file():
        return True  # real LEAN data someone put there: never touch it
    try:
        return bool(json.loads(marker.read_text(encoding="utf-8")).get("complete"))
    except (OSError, ValueError):
        return False


def _wanted(workspace: Path) -> tuple[set[str], dt.date | None, dt.date | None]:
    """Tickers and the period the hypothesis files ask for (read leniently: broken files are skipped)."""
    import yaml

    tickers: set[str] = set()
    starts, ends = [], []
    for path in hypothesis_files(workspace / "hypotheses"):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        universe = doc.get("universe") or []
        tickers |= {str(t).upper() for t in ([universe] if isinstance(universe, str) else universe)}
        if isinstance(doc.get("start"), dt.date):
            starts.append(doc["start"])
        if isinstance(doc.get("end"), dt.date):
            ends.append(doc["end"])
    return tickers, min(starts, default=None), max(ends, default=None)


def ensure_synthetic_data(workspace: Path, settings: Settings) -> str | None:
    """Generate the synthetic data set if it is missing or incomplete; returns what was made (or None)."""
    from orchestrator.engine.synth import DEFAULT_END, DEFAULT_START, DEFAULT_SYMBOLS, generate_synthetic_data

    folder = settings.data_folder
    if _complete(folder):
        return None
    tickers, first, last = _wanted(workspace)
    symbols = sorted(set(DEFAULT_SYMBOLS) | tickers)
    start = min(DEFAULT_START, first - dt.timedelta(days=WARM_UP_DAYS)) if first else DEFAULT_START
    end = max(DEFAULT_END, last) if last else DEFAULT_END
    summary = generate_synthetic_data(folder, seed=settings.data.synthetic_seed, symbols=symbols,
                                      start=start, end=end)
    return f"seed {summary.seed}, {len(summary.symbols)} symbols, {summary.start}..{summary.end}"
