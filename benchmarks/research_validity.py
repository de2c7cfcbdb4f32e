"""Does qcloop's research loop reject noise and find a real effect? (issue 8, item 4)

    .venv/bin/python benchmarks/research_validity.py                # the experiment: 20 noise + 20 signal seeds
    .venv/bin/python benchmarks/research_validity.py --resume       # reuse the seeds already finished
    .venv/bin/python benchmarks/research_validity.py --noise-seeds 1 --signal-seeds 101 --output /tmp/rv
    .venv/bin/python benchmarks/research_validity.py --noise-seeds "" --signal-seeds 901-912 \
        --strength 0.05 --families ts_momentum --output /tmp/power   # one point of a power curve

The planted effect defaults to S = 0.07 of a day's standard deviation with a 252-day lookback; why that
strength, and the loop's power at weaker ones, are in docs/research-validity.md. About 20 minutes on two
cores. The experiment runs a frozen copy of orchestrator/ and templates/ taken when it starts.

For every seed, exactly what a user does:

1. ``qcloop data synth --seed N`` writes a synthetic LEAN data folder: a pure random walk for the noise
   seeds (``--random-walk``: no drift, no effect; volatility clustering and fat tails stay), or a planted
   time-series momentum effect for the signal seeds (``--plant tsmom=S --plant tsmom_lookback=L
   --zero-drift``: buy-and-hold earns nothing, only the effect pays; docs/data.md defines it);
2. ``qcloop init``-style workspace whose ``data.folder`` is that folder, variant generation off, every
   other setting and the rule set as a user gets them (``default``);
3. one hypothesis per strategy family, with the family's default universe, parameters and sweep
   (the default grid), over the period the data covers;
4. ``qcloop run`` on the local platform until every hypothesis is decided: baseline backtest, sweep
   notebook, walk-forward notebook with the confirmation and holdout backtests, Deflated Sharpe over
   the family's trials -- nothing is scored outside the loop;
5. the state files are read back: the outcome of every hypothesis, the stage that decided it, the
   checks that failed, and the figures (Sharpe, PSR, DSR with its trial count and variance).

Seeds are fixed up front (noise 1..20, signal 101..120 by default) and every one is reported. A seed's
result is cached as JSON in ``--cache`` under a fingerprint of the experiment's settings and of every
file of the frozen copy of the code, so ``--resume`` never mixes results of different code. The report goes to
``benchmarks/results/research_validity.{md,json}``. Exit status 0 when both bounds hold: at most 5 % of
the noise hypotheses accepted, and the momentum family accepted in more than half of the signal seeds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.models import BacktestFigures, HypothesisState

ROOT = Path(__file__).resolve().parents[1]

RESULT_NAME = "research_validity"
# --screen-off: hypothesis-level overrides that let every hypothesis past the per-backtest screen (trades,
# Sharpe, PSR, drawdown), so that only the selection-aware gates decide: the optimization's plateau and
# gain, the walk-forward, the Deflated Sharpe, the holdout and the too-good-to-be-true tripwires.
SCREEN_OFF = {"min_trades": 0, "min_sharpe": -10, "min_psr": 0, "max_drawdown": 1}
MOMENTUM_FAMILY = "ts_momentum"
MAX_FALSE_ACCEPTANCE = 0.05
MIN_TRUE_ACCEPTANCE = 0.5  # strictly more than this share of the signal seeds
# The experiment runs a frozen copy of these (other people may be editing the working tree meanwhile);
# every file of the copy is in the fingerprint that keys cached seeds: the engine, the notebooks, the
# metrics parser and the platforms decide outcomes as much as the rules do.
CODE_PARTS = ("orchestrator", "templates")
SEED_TIMEOUT_SECONDS = 3 * 3600


# ------------------------------------------------------------------------------------------------
# the experiment's settings


@dataclass(frozen=True)
class Experiment:
    """Everything that defines the experiment; its fingerprint keys the cache."""

    noise_seeds: tuple[int, ...]
    signal_seeds: tuple[int, ...]
    strength: float             # S of the planted effect, in daily standard deviations
    lookback: int               # L of the planted effect, in trading days
    data_start: dt.date         # the synthetic data's first day
    data_end: dt.date
    start: dt.date              # the hypotheses' period (after a year of data for the indicators' warm-up)
    end: dt.date
    families: tuple[str, ...]
    screen_off: bool = False    # a stress test: the per-backtest screen loosened in every hypothesis

    def synth_arguments(self, kind: str, seed: int, output: Path) -> list[str]:
        common = ["data", "synth", "--output", str(output), "--seed", str(seed), "--start",
                  self.data_start.isoformat(), "--end", self.data_end.isoformat(), "--minute-days", "0"]
        if kind == "noise":
            return [*common, "--random-walk"]
        return [*common, "--plant", f"tsmom={self.strength:g}", "--plant", f"tsmom_lookback={self.lookback}",
                "--zero-drift"]

    def fingerprint(self, code: Path) -> str:
        """A hash of the settings and of every source file of the frozen copy ``code``."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode())
        for path in _code_files(code):
            digest.update(str(path.relative_to(code)).encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]


def _code_files(code: Path) -> list[Path]:
    """Every file of the copy in path order (links not followed: orchestrator/_templates is templates/)."""
    files: list[Path] = []
    for part in CODE_PARTS:
        found = sorted(p for p in (code / part).rglob("*") if p.is_file() and not p.is_symlink())
        files += [p for p in found if "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return files


def snapshot_code(target: Path) -> Path:
    """Copy the code the experiment runs into ``target``, so that edits made meanwhile cannot reach it.

    Every ``qcloop`` command then runs from the copy (its folder is the working directory and
    PYTHONPATH, which notebook kernels inherit), and the copy is checked to import before any seed starts.
    """
    shutil.rmtree(target, ignore_errors=True)
    for part in CODE_PARTS:
        # symlinks=True keeps orchestrator/_templates -> ../templates pointing inside the copy
        shutil.copytree(ROOT / part, target / part, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    check = subprocess.run([sys.executable, "-c", "import orchestrator.loop.machine, orchestrator.commands.run"],
                           cwd=target, env=code_environment(target), capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise SystemExit(f"the working tree's code does not import (someone is mid-edit?); try again later:\n"
                         f"{check.stderr.strip().splitlines()[-1] if check.stderr.strip() else check.returncode}")
    return target


def code_environment(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code)}


# ------------------------------------------------------------------------------------------------
# one seed: data, workspace, hypotheses, the loop


def hypothesis_text(hypothesis_id: str, family: str, title: str, exp: Experiment, kind: str) -> str:
    """One hypothesis of a family with everything at the family's defaults (universe, parameters, sweep)."""
    market = "a random walk" if kind == "noise" else "a market with planted time-series momentum"
    return (f"id: {hypothesis_id}\ntitle: {family} with its defaults on {market}\n"
            f"rationale: >-\n  {title}, as the template defines it; part of the research-validity "
            "experiment (benchmarks/research_validity.py).\n"
            f"template: {family}\nstart: {exp.start.isoformat()}\nend: {exp.end.isoformat()}\n"
            + (f"rules: {{{', '.join(f'{k}: {v}' for k, v in SCREEN_OFF.items())}}}\n" if exp.screen_off else ""))


def make_workspace(folder: Path, data: Path, exp: Experiment, kind: str) -> dict[str, str]:
    """A fresh workspace on ``data`` with one hypothesis per family; returns {hypothesis id: family}."""
    from orchestrator.strategies import load_registry
    from orchestrator.workspace import init_workspace

    init_workspace(folder, examples=False)
    config = folder / "qcloop.yaml"
    config.write_text(config.read_text(encoding="utf-8")
                      + f"\ndata:\n  folder: {data}\ngenerators:\n  variants_per_hypothesis: 0\n",
                      encoding="utf-8")
    registry = load_registry(folder)
    ids = {}
    for number, family in enumerate(exp.families, start=1):
        hypothesis_id = f"H-{number:03d}"
        title = registry.get(family).schema.title
        (folder / "hypotheses" / f"{hypothesis_id}.yaml").write_text(
            hypothesis_text(hypothesis_id, family, title, exp, kind), encoding="utf-8")
        ids[hypothesis_id] = family
    return ids


def qcloop(arguments: Sequence[str], code: Path, log: Path, timeout: float) -> None:
    """Run ``python -m orchestrator ARGS`` (the `qcloop` command) from ``code``, its output appended to ``log``."""
    command = [sys.executable, "-m", "orchestrator", *arguments]
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ qcloop {' '.join(arguments)}\n")
        out.flush()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=code,
                                 env=code_environment(code), start_new_session=True)
        try:
            exit_code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Its own process group; a notebook kernel it started exits when it sees its parent gone.
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise RuntimeError(f"`qcloop {arguments[0]}` did not finish within {timeout:.0f} s (log: {log})") from None
    if exit_code != 0:
        raise RuntimeError(f"`qcloop {' '.join(arguments[:2])}` exited with {exit_code} (log: {log})")


def run_seed(exp: Experiment, kind: str, seed: int, *, code: Path, runs: Path, keep: bool) -> dict[str, Any]:
    from orchestrator.store import Store

    folder = runs / f"{kind}-{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log = folder / "qcloop.log"
    started = time.monotonic()
    qcloop(exp.synth_arguments(kind, seed, folder / "data"), code, log, timeout=600)
    families = make_workspace(folder / "workspace", folder / "data", exp, kind)
    qcloop(["run", "-w", str(folder / "workspace")], code, log, timeout=SEED_TIMEOUT_SECONDS)
    states = {s.id: s for s in Store(folder / "workspace").load_all()}
    hypotheses = [summarize(states[h], folder / "workspace") for h in sorted(families)]
    result = {"kind": kind, "seed": seed, "seconds": round(time.monotonic() - started, 1),
              "hypotheses": hypotheses}
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


# ------------------------------------------------------------------------------------------------
# reading a decided hypothesis back


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _backtest(f: BacktestFigures | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"sharpe": _round(f.sharpe), "psr": _round(f.psr), "trades": f.trades, "orders": f.total_orders,
            "drawdown": _round(f.drawdown), "win_rate": _round(f.win_rate),
            "round_trip_win_rate": _round(f.round_trip_win_rate), "parameters": f.parameters,
            # what a reader needs to recompute PSR and DSR (per-day Sharpe, raw kurtosis)
            "sharpe_per_period": _round(f.sharpe_per_period, 6), "skewness": _round(f.skewness),
            "kurtosis": _round(f.kurtosis), "observations": f.observations}


def _walk_forward_record(state: HypothesisState, workspace: Path) -> dict[str, Any] | None:
    """The walk-forward notebook's own statistics of the chained out-of-sample returns."""
    wf = state.results.walk_forward
    if wf is None or wf.record_path is None:
        return None
    path = workspace / wf.record_path
    if not path.is_file():
        return None
    oos = json.loads(path.read_text(encoding="utf-8")).get("out_of_sample") or {}
    return {"psr": _round(oos.get("psr")), "dsr": _round(oos.get("dsr")), "n_trials": oos.get("n_trials")}


def _final(state: HypothesisState) -> tuple[str, list[str], list[str]]:
    """(the step that decided, the reasons, the rules that failed): the last decision's, or the failure."""
    from orchestrator.models import Stage

    if state.stage is Stage.FAILED and state.failure is not None:
        return f"failed at {state.failure.stage.value}", [state.failure.reason], ["failure"]
    decision = state.last_decision
    if decision is None:
        return state.stage.value, [], []
    failed = [c for c in decision.checks if not c.passed]
    return decision.step.value, [c.reason for c in failed] or [decision.summary], [c.rule for c in failed]


def summarize(state: HypothesisState, workspace: Path) -> dict[str, Any]:
    from orchestrator.models import Stage

    r = state.results
    step, reasons, failed_rules = _final(state)
    trial_stats = state.trial_stats
    wf = r.walk_forward
    return {
        "id": state.id, "family": state.family, "stage": state.stage.value,
        "accepted": state.stage is Stage.ACCEPTED, "decided_at": step, "reasons": reasons,
        "failed_rules": failed_rules,
        "rules": state.last_decision.rules if state.last_decision else None,
        "parameters": state.parameters,
        "baseline": _backtest(r.baseline),
        "sweep": None if r.sweep is None else {
            "points": len(r.sweep.points), "chosen": r.sweep.chosen, "chosen_sharpe": _round(r.sweep.chosen_sharpe),
            "best_sharpe": _round(r.sweep.best_sharpe)},
        "walk_forward": None if wf is None else {
            "in_sample_sharpe": _round(wf.in_sample_sharpe), "out_of_sample_sharpe": _round(wf.out_of_sample_sharpe),
            "notebook": _walk_forward_record(state, workspace)},
        "confirmation": _backtest(r.confirmation),
        "holdout": _backtest(r.holdout),
        "trials": None if trial_stats is None else {
            "hypothesis": trial_stats.hypothesis_trials, "family": trial_stats.family_trials,
            "sharpe_variance": _round(trial_stats.sharpe_variance, 6),
            "deflated_sharpe": _round(trial_stats.deflated_sharpe),
            "expected_max_sharpe": _round(trial_stats.expected_max_sharpe),
            # every trial's annual Sharpe ratio, kept where a DSR was computed, so it can be recomputed
            "sharpes": None if trial_stats.deflated_sharpe is None else
            {t.label: round(t.sharpe, 4) for t in state.trials}},
    }


# ------------------------------------------------------------------------------------------------
# rates


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) two-sided binomial confidence interval of a proportion."""
    from scipy.stats import beta

    if trials == 0:
        return 0.0, 1.0
    tail = (1 - confidence) / 2
    low = 0.0 if successes == 0 else float(beta.ppf(tail, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1 - tail, successes + 1, trials - successes))
    return low, high


@dataclass
class Rate:
    hits: int
    total: int
    interval: tuple[float, float] = field(init=False)

    def __post_init__(self) -> None:
        self.interval = clopper_pearson(self.hits, self.total)

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def text(self) -> str:
        low, high = self.interval
        return f"{self.hits}/{self.total} = {self.value:.1%} (95% CI {low:.1%} .. {high:.1%})"

    def as_json(self) -> dict[str, Any]:
        return {"hits": self.hits, "total": self.total, "rate": round(self.value, 4),
                "ci95": [round(self.interval[0], 4), round(self.interval[1], 4)]}


def hypotheses_of(seeds: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [h for s in seeds for h in s["hypotheses"]]


def family_rate(seeds: Sequence[dict[str, Any]], family: str) -> Rate:
    rows = [h for h in hypotheses_of(seeds) if h["family"] == family]
    return Rate(sum(h["accepted"] for h in rows), len(rows))


def outcome_counts(seeds: Sequence[dict[str, Any]], family: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for h in hypotheses_of(seeds):
        if h["family"] == family:
            key = "accepted" if h["accepted"] else f"{h['stage']} at {h['decided_at']}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def failed_rule_counts(seeds: Sequence[dict[str, Any]], family: str | None = None) -> dict[str, int]:
    """How many hypotheses each rule rejected (a hypothesis may fail several at its last decision)."""
    counts: dict[str, int] = {}
    for h in hypotheses_of(seeds):
        if family is None or h["family"] == family:
            for rule in h["failed_rules"]:
                counts[rule] = counts.get(rule, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def summary(exp: Experiment, noise: list[dict[str, Any]], signal_: list[dict[str, Any]]) -> dict[str, Any]:
    all_noise = hypotheses_of(noise)
    false_rate = Rate(sum(h["accepted"] for h in all_noise), len(all_noise))
    true_rate = family_rate(signal_, MOMENTUM_FAMILY)
    return {
        "false_acceptance": false_rate.as_json(),
        "false_acceptance_text": false_rate.text(),
        "noise_seeds_with_an_acceptance": sum(any(h["accepted"] for h in s["hypotheses"]) for s in noise),
        "true_acceptance": true_rate.as_json(),
        "true_acceptance_text": true_rate.text(),
        "failed_hypotheses": sum(h["stage"] == "failed" for h in all_noise + hypotheses_of(signal_)),
        "rejections_by_rule": {"noise": failed_rule_counts(noise), "signal": failed_rule_counts(signal_),
                               "signal_momentum_family": failed_rule_counts(signal_, MOMENTUM_FAMILY)},
        "per_family": {
            family: {"noise": family_rate(noise, family).as_json(), "signal": family_rate(signal_, family).as_json(),
                     "noise_outcomes": outcome_counts(noise, family),
                     "signal_outcomes": outcome_counts(signal_, family)}
            for family in exp.families},
        "bounds": {
            "false_acceptance_at_most": MAX_FALSE_ACCEPTANCE,
            "false_acceptance_met": false_rate.value <= MAX_FALSE_ACCEPTANCE,
            "true_acceptance_above": MIN_TRUE_ACCEPTANCE,
            "true_acceptance_met": true_rate.value > MIN_TRUE_ACCEPTANCE,
        },
    }


# ------------------------------------------------------------------------------------------------
# the report


def _f(value: Any, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _dsr_cell(h: dict[str, Any]) -> str:
    t = h.get("trials") or {}
    if t.get("deflated_sharpe") is None:
        return ""
    return (f"{t['deflated_sharpe']:.3f} (N={t['family']}, V={t['sharpe_variance']:.4f}, "
            f"SR0={t['expected_max_sharpe']:.2f})")


def _reason(h: dict[str, Any]) -> str:
    text = "; ".join(h["reasons"]) if not h["accepted"] else "all checks passed"
    return text.replace("|", "/")


def detail_rows(seeds: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| seed | family | outcome | decided at | baseline Sharpe | PSR | chosen (sweep) Sharpe | OOS Sharpe "
             "| confirmation Sharpe | DSR (trials N, variance V, SR0) | holdout Sharpe | why |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in seeds:
        for h in s["hypotheses"]:
            base, conf, hold = h["baseline"] or {}, h["confirmation"] or {}, h["holdout"] or {}
            sweep, wf = h["sweep"] or {}, h["walk_forward"] or {}
            outcome = "**ACCEPTED**" if h["accepted"] else h["stage"]
            lines.append(
                f"| {s['seed']} | {h['family']} | {outcome} | {h['decided_at']} | {_f(base.get('sharpe'))} "
                f"| {_f(base.get('psr'), 3)} | {_f(sweep.get('chosen_sharpe'))} | {_f(wf.get('out_of_sample_sharpe'))} "
                f"| {_f(conf.get('sharpe'))} | {_dsr_cell(h)} | {_f(hold.get('sharpe'))} | {_reason(h)} |")
    return lines


def family_table(exp: Experiment, result: dict[str, Any]) -> list[str]:
    lines = ["| family | noise: accepted | signal: accepted | noise outcomes | signal outcomes |",
             "|---|---|---|---|---|"]
    for family in exp.families:
        row = result["per_family"][family]
        name = f"**{family}** (the momentum family)" if family == MOMENTUM_FAMILY else family
        outcomes = [", ".join(f"{k}: {v}" for k, v in row[key].items())
                    for key in ("noise_outcomes", "signal_outcomes")]
        lines.append(f"| {name} | {row['noise']['hits']}/{row['noise']['total']} "
                     f"| {row['signal']['hits']}/{row['signal']['total']} | {outcomes[0]} | {outcomes[1]} |")
    return lines


def rules_table(counts: dict[str, dict[str, int]]) -> list[str]:
    columns = [("noise", "noise (all families)"), ("signal", "signal (all families)"),
               ("signal_momentum_family", f"signal ({MOMENTUM_FAMILY})")]
    rules = sorted({rule for column in counts.values() for rule in column},
                   key=lambda rule: (-counts["noise"].get(rule, 0), rule))
    lines = ["| rule | " + " | ".join(title for _, title in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {rule} | " + " | ".join(str(counts[key].get(rule, 0)) for key, _ in columns) + " |"
              for rule in rules]
    return lines


def markdown(exp: Experiment, result: dict[str, Any], meta: dict[str, Any],
             noise: list[dict[str, Any]], signal_: list[dict[str, Any]]) -> str:
    bounds = result["bounds"]
    per_year = exp.strength * 252 ** 0.5
    lines = [
        "# Research validity: does the loop reject noise and find a real effect?",
        "",
        f"Written by `benchmarks/research_validity.py` on {meta['finished_at']} (qcloop commit {meta['commit']}"
        f"{' with uncommitted changes to the code' if meta['dirty'] else ''}; decisions under "
        f"{meta['rules']}; "
        f"fingerprint {meta['fingerprint']}). How to read it and why the loop decides as it does: "
        "docs/research-validity.md.",
        "",
        "## Headline",
        "",
        f"* **False acceptance on random walks: {result['false_acceptance_text']}** of the hypotheses "
        f"({len(noise)} seeds x {len(exp.families)} families; bound: at most {MAX_FALSE_ACCEPTANCE:.0%}: "
        f"{'met' if bounds['false_acceptance_met'] else 'NOT met'}). Seeds with any acceptance: "
        f"{result['noise_seeds_with_an_acceptance']} of {len(noise)}.",
        f"* **True acceptance of the momentum family (`{MOMENTUM_FAMILY}`) on planted time-series momentum: "
        f"{result['true_acceptance_text']}** of the seeds (bound: more than half: "
        f"{'met' if bounds['true_acceptance_met'] else 'NOT met'}).",
        f"* Hypotheses that ended FAILED (a stage broke, not a decision): {result['failed_hypotheses']}.",
        "",
        "## Set-up",
        "",
        f"* Noise seeds {_seed_list(exp.noise_seeds)}: `qcloop data synth --random-walk --seed N` (zero drift, "
        "no effect; GARCH volatility clustering and Student-t(5) shocks remain).",
        f"* Signal seeds {_seed_list(exp.signal_seeds)}: `qcloop data synth --plant tsmom={exp.strength:g} "
        f"--plant tsmom_lookback={exp.lookback} --zero-drift --seed N`: after a positive trailing "
        f"{exp.lookback}-day return the next day's expected return rises by S = {exp.strength:g} of that day's "
        f"standard deviation, and falls by as much after a negative one. Per asset that is a Sharpe ratio of "
        f"about S x sqrt(252) = {per_year:.2f} a year for the long/short rule and about 0.7 x that = "
        f"{0.7 * per_year:.2f} for long-or-flat (docs/data.md); no drift, so nothing else pays.",
        f"* Data {exp.data_start} .. {exp.data_end} (SPY QQQ IWM EEM TLT GLD daily, SPY hourly); every hypothesis "
        f"covers {exp.start} .. {exp.end} (the first year of data warms the indicators up). The loop's defaults: "
        "the last 20 % of the period is the holdout (one backtest, used once), the rest is searched; the "
        "walk-forward has 4 rolling out-of-sample windows.",
        f"* One hypothesis per family ({', '.join(exp.families)}), each with its default universe, parameters "
        "and default sweep grid (the two swept parameters, default +/- 3 steps); variant generation off; "
        f"the built-in rule set `{meta['rules']}`; `qcloop run` on the local platform (embedded engine, "
        "notebooks in a local kernel).",
        *([f"* **Stress test: the per-backtest screen is off** in every hypothesis (`rules: {SCREEN_OFF}`), "
           "so only the selection-aware gates decide; not the default set-up."] if exp.screen_off else []),
        f"* Run time: {meta['seconds'] / 60:.1f} min of seed work in all ({meta['jobs']} seeds in parallel); "
        f"this invocation took {meta['wall_seconds'] / 60:.1f} min of wall-clock time (seeds reused with "
        "`--resume` cost none).",
        "",
        "## By family",
        "",
        *family_table(exp, result),
        "",
        "## Which rules rejected",
        "",
        "Hypotheses rejected by each rule at their last decision (one hypothesis can fail several):",
        "",
        *rules_table(result["rejections_by_rule"]),
        "",
        "## Every noise seed",
        "",
        *detail_rows(noise),
        "",
        "## Every signal seed",
        "",
        *detail_rows(signal_),
        "",
        "Columns: Sharpe ratios are annualized from daily equity returns (zero risk-free rate); PSR is "
        "against zero; the chosen (sweep) Sharpe is the plateau centre the sweep picked; OOS is the chained "
        "walk-forward out-of-sample windows; DSR is the loop's Deflated Sharpe of the confirmation backtest "
        "with the family's trial count N and the variance V of its trials' annual Sharpe ratios (SR0 = the "
        "expected maximum Sharpe of N unskilled trials, annual); empty cells: the stage was not reached.",
        "",
    ]
    return "\n".join(lines)


def _seed_list(seeds: Sequence[int]) -> str:
    if seeds and list(seeds) == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(map(str, seeds))


# ------------------------------------------------------------------------------------------------
# running it


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def cached(folder: Path, kind: str, seed: int) -> dict[str, Any] | None:
    path = folder / f"{kind}-{seed}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


@dataclass
class Run:
    """What one invocation produced: the seeds' results in order, the seed seconds, the seeds that broke."""

    seeds: dict[str, list[dict[str, Any]]]
    seconds: float
    errors: list[str]


def run_all(exp: Experiment, *, code: Path, folder: Path, resume: bool, jobs: int, keep: bool) -> Run:
    todo = [(kind, seed) for kind, seeds in (("noise", exp.noise_seeds), ("signal", exp.signal_seeds))
            for seed in seeds]
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, seed in todo:
        found = cached(folder, kind, seed) if resume else None
        if found is not None:
            results[(kind, seed)] = found
    pending = [job for job in todo if job not in results]
    print(f"research validity: {len(todo)} seeds, {len(todo) - len(pending)} cached, {len(pending)} to run "
          f"({jobs} at a time); cache {folder}", flush=True)
    errors = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_seed, exp, kind, seed, code=code, runs=folder / "runs", keep=keep): (kind, seed)
                   for kind, seed in pending}
        for future in concurrent.futures.as_completed(futures):
            kind, seed = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # one broken seed is reported; the others go on
                errors.append(f"{kind} seed {seed}: {exc}")
                print(f"  {kind} seed {seed}: ERROR {exc}", flush=True)
                continue
            (folder / f"{kind}-{seed}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
            results[(kind, seed)] = result
            accepted = [h["family"] for h in result["hypotheses"] if h["accepted"]]
            print(f"  {kind} seed {seed}: {result['seconds']:.0f} s, accepted: {', '.join(accepted) or 'none'}",
                  flush=True)
    ordered = {kind: [results[(kind, seed)] for seed in seeds if (kind, seed) in results]
               for kind, seeds in (("noise", exp.noise_seeds), ("signal", exp.signal_seeds))}
    return Run(ordered, sum(r["seconds"] for r in results.values()), errors)


def parse_seeds(text: str) -> tuple[int, ...]:
    """``1-20``, ``1,2,5`` or a mix; a seed named twice is an error (it would be run and counted twice)."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        seeds += range(int(low), int(high) + 1) if high else [int(low)]
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"seeds named more than once in {text!r}: {repeated}")
    return tuple(seeds)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--noise-seeds", type=parse_seeds, default=parse_seeds("1-20"))
    parser.add_argument("--signal-seeds", type=parse_seeds, default=parse_seeds("101-120"))
    parser.add_argument("--strength", type=float, default=0.07, help="S of --plant tsmom=S (default 0.07)")
    parser.add_argument("--lookback", type=int, default=252, help="L of --plant tsmom_lookback=L (default 252)")
    parser.add_argument("--data-start", type=dt.date.fromisoformat, default=dt.date(1998, 1, 2))
    parser.add_argument("--data-end", type=dt.date.fromisoformat, default=dt.date(2021, 3, 31))
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(1999, 1, 4),
                        help="the hypotheses' first day (default 1999-01-04: a year of data warms indicators up)")
    parser.add_argument("--end", type=dt.date.fromisoformat, default=None, help="default: --data-end")
    parser.add_argument("--families", default="", help="comma-separated (default: every family)")
    parser.add_argument("--jobs", type=int, default=2, help="seeds run in parallel (default 2)")
    parser.add_argument("--screen-off", action="store_true",
                        help="stress test: loosen the per-backtest screen (trades, Sharpe, PSR, drawdown) in every "
                             "hypothesis, so that only the selection-aware gates decide")
    parser.add_argument("--cache", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qcloop"
                        / "research-validity")
    parser.add_argument("--resume", action="store_true", help="reuse seeds already finished with the same fingerprint")
    parser.add_argument("--keep-workspaces", action="store_true", help="keep each seed's data and workspace")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results")
    return parser.parse_args(argv)


def family_names(code: Path) -> tuple[str, ...]:
    """Every built-in strategy family of the frozen code, in name order (as `qcloop templates` lists them)."""
    return tuple(sorted(p.parent.name for p in (code / "templates" / "strategies").glob("*/family.yaml")))


def keep_snapshot(staging: Path, code: Path) -> Path:
    """Move the frozen copy to where its fingerprint files it (replacing an identical older one)."""
    shutil.rmtree(code, ignore_errors=True)
    code.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(code)
    return code


def rules_applied(seeds: Iterable[dict[str, Any]]) -> str:
    """The rule sets the decisions recorded (the truth of what was applied, e.g. ``default@2``)."""
    return ", ".join(sorted({h["rules"] for h in hypotheses_of(seeds) if h.get("rules")})) or "none"


def write_report(exp: Experiment, run: Run, meta: dict[str, Any], output: Path) -> dict[str, Any]:
    result = summary(exp, run.seeds["noise"], run.seeds["signal"])
    output.mkdir(parents=True, exist_ok=True)
    document = {"schema_version": 1, "kind": "qcloop.research-validity", "experiment": asdict(exp), "meta": meta,
                "momentum_family": MOMENTUM_FAMILY, "summary": result, "seeds": run.seeds}
    (output / f"{RESULT_NAME}.json").write_text(json.dumps(document, indent=1, default=str) + "\n",
                                                encoding="utf-8")
    (output / f"{RESULT_NAME}.md").write_text(markdown(exp, result, meta, run.seeds["noise"], run.seeds["signal"]),
                                              encoding="utf-8")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    started = time.monotonic()
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--", *CODE_PARTS))
    staging = snapshot_code(args.cache / "code-staging")
    families = tuple(f for f in args.families.split(",") if f) or family_names(staging)
    exp = Experiment(noise_seeds=args.noise_seeds, signal_seeds=args.signal_seeds, strength=args.strength,
                     lookback=args.lookback, data_start=args.data_start, data_end=args.data_end, start=args.start,
                     end=args.end or args.data_end, families=families, screen_off=args.screen_off)
    fingerprint = exp.fingerprint(staging)
    code = keep_snapshot(staging, args.cache / fingerprint / "code")
    # This process reads the states back with the frozen code's models too (unless the caller, a test,
    # has imported qcloop already).
    sys.path.insert(0, str(code))
    run = run_all(exp, code=code, folder=args.cache / fingerprint, resume=args.resume, jobs=args.jobs,
                  keep=args.keep_workspaces)
    if run.errors:
        print(f"{len(run.errors)} seed(s) broke, so no report was written (every seed is reported or none); "
              "fix the cause and rerun with --resume:\n  " + "\n  ".join(run.errors))
        return 2
    meta = {"finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "dirty": dirty, "rules": rules_applied([*run.seeds["noise"], *run.seeds["signal"]]),
            "fingerprint": fingerprint, "jobs": args.jobs,
            "seconds": round(run.seconds, 1), "wall_seconds": round(time.monotonic() - started, 1)}
    result = write_report(exp, run, meta, args.output)
    print(f"false acceptance (noise): {result['false_acceptance_text']}")
    print(f"true acceptance ({MOMENTUM_FAMILY}, signal seeds): {result['true_acceptance_text']}")
    print(f"written: {args.output / (RESULT_NAME + '.md')} and .json")
    bounds = result["bounds"]
    return 0 if bounds["false_acceptance_met"] and bounds["true_acceptance_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
