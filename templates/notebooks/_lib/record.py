# qcloop result record: how a notebook hands its results back to qcloop.
#
# The record goes out through three channels, because no single one survives every platform:
#   1. a display output with MIME type application/vnd.qcloop.result+json (the record as JSON);
#   2. the plain-text line "QCLOOP-RESULT <json>" (kept when rich outputs are lost);
#   3. the Object Store, under the key qcloop/results/<nonce>.json:
#      - in qcloop's own kernel (local runs, the emulator) the folder in $QCLOOP_OBJECT_STORE_DIR,
#      - in QuantConnect Research qb.object_store.save(key, text).
# The record echoes the run nonce, so qcloop can tell this run's results from an older run's.

import json
import math
import os
import tempfile
from datetime import date

import numpy as np
import pandas as pd

QCLOOP_RESULT_MIME = "application/vnd.qcloop.result+json"
QCLOOP_RESULT_PREFIX = "QCLOOP-RESULT "
QCLOOP_OBJECT_STORE_DIR_ENV = "QCLOOP_OBJECT_STORE_DIR"


def json_ready(value: object) -> object:
    """Numbers, dates and containers as plain JSON values; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (date, pd.Timestamp)):
        return str(value.date() if hasattr(value, "hour") else value)
    return value


def result_key(nonce: str) -> str:
    return f"qcloop/results/{nonce}.json"


def _write_atomically(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)


def save_to_object_store(qb: object, key: str, text: str) -> str:
    """Save ``text`` under ``key``; returns a sentence saying where it went (or why it did not).

    Never raises: the record also goes out through this cell's output, so a failing Object Store (no
    store at all, a quota, an API a QuantBook lacks) must not lose it.
    """
    folder = os.environ.get(QCLOOP_OBJECT_STORE_DIR_ENV)
    try:
        if folder:
            _write_atomically(os.path.join(folder, *key.split("/")), text)
            return f"saved to qcloop's object store ({folder}) under {key}"
        store = getattr(qb, "object_store", None) if qb is not None else None
        if store is None or not hasattr(store, "save"):
            return "no Object Store here; qcloop reads the record from this notebook's output"
        if store.save(key, text) is False:
            return f"the Object Store refused {key}; qcloop reads the record from this notebook's output"
        return f"saved to the Object Store under {key}"
    except Exception as exc:  # noqa: BLE001 - any failure here only loses one of three channels
        return (f"not saved to the Object Store ({type(exc).__name__}: {exc}); "
                "qcloop reads the record from this notebook's output")


def emit_record(record: dict, qb: object = None) -> None:
    """Show the record (rich + plain-text fallback) and save it to the Object Store."""
    from IPython.display import display

    text = json.dumps(json_ready(record), sort_keys=True, separators=(",", ":"), allow_nan=False)
    where = save_to_object_store(qb, result_key(record["nonce"]), text)
    print(f"Result record for {record['hypothesis_id']} ({record['kind']}), run {record['nonce']}: {where}.")
    display({QCLOOP_RESULT_MIME: json.loads(text), "text/plain": QCLOOP_RESULT_PREFIX + text}, raw=True)
    print(QCLOOP_RESULT_PREFIX + text)


def record_header(provenance: dict, data_description: dict, baseline_parameters: dict, baseline_figures: dict,
                  warnings: list[str]) -> dict:
    """The fields every kind's record starts with, taken from this run's injected provenance."""
    from datetime import datetime, timezone

    return {
        "schema_version": 1,
        "kind": provenance["kind"],
        "nonce": provenance["nonce"],
        "provenance_hash": provenance["provenance_hash"],
        "hypothesis_id": provenance["hypothesis_id"],
        "stage": provenance["stage"],
        "strategy_code_hash": provenance["strategy_code_hash"],
        "qcloop_version": provenance["qcloop_version"],
        "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": data_description,
        "baseline_parameters": dict(baseline_parameters),
        "baseline": baseline_figures,
        "warnings": list(warnings),
    }
