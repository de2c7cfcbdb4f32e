"""The research-validity benchmark's plumbing, on one tiny seed (benchmarks/research_validity.py).

The experiment itself takes about half an hour and is run by hand; this only checks that the script
makes the data and the workspace, runs `qcloop run` from its frozen copy of the code, reads every
hypothesis back, writes both result files, and reuses a finished seed with --resume.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "research_validity.py"


def load_script() -> ModuleType:
    """The script as a module (benchmarks/ is not a package); dataclasses need it in sys.modules."""
    name = "qcloop_benchmark_research_validity"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_one_noise_seed_end_to_end_and_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts its frozen code first; undo that
    script = load_script()
    argv = ["--noise-seeds", "3", "--signal-seeds", "", "--families", "ma_crossover",
            "--data-start", "2015-01-02", "--data-end", "2019-12-31", "--start", "2016-01-04",
            "--jobs", "1", "--cache", str(tmp_path / "cache"), "--output", str(tmp_path / "out")]
    # 0/0 signal seeds cannot show "more than half", so the bounds are not met: exit status 1.
    assert script.main(argv) == 1
    document = json.loads((tmp_path / "out" / "research_validity.json").read_text())
    assert document["kind"] == "qcloop.research-validity" and document["momentum_family"] == "ts_momentum"
    assert document["experiment"]["families"] == ["ma_crossover"]
    [seed] = document["seeds"]["noise"]
    assert seed["kind"] == "noise" and seed["seed"] == 3 and document["seeds"]["signal"] == []
    [hypothesis] = seed["hypotheses"]
    assert hypothesis["family"] == "ma_crossover" and hypothesis["stage"] in {"accepted", "rejected", "failed"}
    assert hypothesis["baseline"]["observations"] > 700  # 2016-2019 minus the holdout: about 3 years of days
    summary = document["summary"]
    assert summary["false_acceptance"]["total"] == 1
    assert summary["false_acceptance"]["hits"] == int(hypothesis["accepted"])
    assert summary["bounds"]["true_acceptance_met"] is False
    report = (tmp_path / "out" / "research_validity.md").read_text()
    assert "False acceptance on random walks" in report and "| 3 | ma_crossover |" in report

    # --resume takes the finished seed from the cache instead of running it again.
    cached = next((tmp_path / "cache").glob("*/noise-3.json"))
    marked = json.loads(cached.read_text())
    marked["seconds"] = 12345.0
    cached.write_text(json.dumps(marked))
    assert script.main([*argv, "--resume"]) == 1
    again = json.loads((tmp_path / "out" / "research_validity.json").read_text())
    assert again["seeds"]["noise"][0]["seconds"] == 12345.0


def test_seed_lists_and_the_exact_binomial_interval() -> None:
    script = load_script()
    assert script.parse_seeds("1-3,7, 9-10") == (1, 2, 3, 7, 9, 10)
    assert script.parse_seeds("") == ()
    # Clopper-Pearson: 0 of n has the upper bound 1 - (alpha/2)^(1/n); 0 of 160 -> 1 - 0.025^(1/160) = 0.02279.
    low, high = script.clopper_pearson(0, 160)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 160), rel=1e-9)
    # n of n mirrors it: the lower bound is (alpha/2)^(1/n); 20 of 20 -> 0.025^(1/20) = 0.83157.
    low, high = script.clopper_pearson(20, 20)
    assert low == pytest.approx(0.025 ** (1 / 20), rel=1e-9) and high == 1.0


def test_a_seed_named_twice_is_refused() -> None:
    import argparse

    script = load_script()
    assert script.parse_seeds("1-3,7") == (1, 2, 3, 7)
    assert script.parse_seeds("") == ()
    with pytest.raises(argparse.ArgumentTypeError, match=r"more than once.*\[3\]"):
        script.parse_seeds("1-5,3")


def test_the_fingerprint_covers_every_file_of_the_copy(tmp_path: Path) -> None:
    script = load_script()
    for part in script.CODE_PARTS:
        (tmp_path / part / "engine").mkdir(parents=True)
        (tmp_path / part / "engine" / "fills.py").write_text("A = 1\n")
    exp = script.Experiment(noise_seeds=(1,), signal_seeds=(), strength=0.07, lookback=252,
                            data_start=dt.date(1998, 1, 2),
                            data_end=dt.date(2021, 3, 31),
                            start=dt.date(1999, 1, 4),
                            end=dt.date(2021, 3, 31), families=("ts_momentum",))
    before = exp.fingerprint(tmp_path)
    (tmp_path / "orchestrator" / "engine" / "fills.py").write_text("A = 2\n")  # not a rule file: still counts
    assert exp.fingerprint(tmp_path) != before
