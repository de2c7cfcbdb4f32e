"""Decisions: pure functions from recorded evidence and a versioned rule set to an action with reasons.

Nothing here reads files during a decision, looks at the clock or calls a platform: the same evidence
and rules always give the same decision, which is what lets ``qcloop replay`` re-score history under
new rules without running anything (DESIGN.md §5).

A rule set is data (``rules/default.yaml``, or the workspace's file named in qcloop.yaml) with a
``name`` and a ``version`` that every decision records. A hypothesis may override single thresholds
(``rules:`` in its spec); the overrides are recorded on the decision too.

The steps and what they check:

- ``baseline``: trades, Sharpe, drawdown, PSR, the too-good-to-be-true tripwires; then optimize
  (when the hypothesis has a search space) or validate.
- ``optimize``: parity of the sweep notebook with the baseline backtest (else FLAG); the chosen
  point's Sharpe, its plateau, and the optimization gain (too little: keep the baseline parameters;
  too much: reject as curve fitting).
- ``validate``: parity of the walk-forward notebook; out-of-sample Sharpe and degradation; the
  confirmation backtest's basic checks; the Deflated Sharpe Ratio with the family's trial count and
  the variance of its trials' Sharpe ratios; the holdout window.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator import yamlfile
from orchestrator.errors import ConfigError, SpecError
from orchestrator.models import Action, BacktestFigures, Check, Decision, Evidence, Step, TrialStats

BUILTIN_RULES_DIR = Path(__file__).resolve().parent / "rules"
PERIODS_PER_YEAR = 252  # LEAN annualizes daily Sharpe ratios with 252 trading days


class RuleSet(BaseModel):
    """Thresholds of the decisions. Field names are the rule names a hypothesis may override."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    version: int = Field(ge=1)
    description: str = ""

    min_trades: int = Field(default=10, ge=0)
    min_sharpe: float = 0.3
    max_drawdown: float = Field(default=0.35, gt=0)
    min_psr: float = Field(default=0.8, ge=0, le=1)
    tripwire_max_sharpe: float = 4.0
    tripwire_sharpe: float = 2.5
    tripwire_min_trades: int = Field(default=30, ge=0)
    tripwire_win_rate: float = Field(default=0.85, gt=0, le=1)
    min_optimization_gain: float = 0.1
    max_optimization_gain: float = 1.5
    min_plateau_ratio: float = Field(default=0.6, le=1)
    min_oos_sharpe: float = 0.2
    max_oos_degradation: float = 0.6
    min_holdout_sharpe: float = 0.0
    min_deflated_sharpe: float = Field(default=0.95, ge=0, le=1)
    parity_sharpe_tolerance: float = Field(default=0.15, ge=0)
    parity_return_tolerance: float = Field(default=0.02, ge=0)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


META_FIELDS = frozenset({"name", "version", "description"})
RULE_NAMES: tuple[str, ...] = tuple(n for n in RuleSet.model_fields if n not in META_FIELDS)


# ------------------------------------------------------------------------------------------------
# loading rule sets


def _rule_set_from_yaml(doc: yamlfile.LocatedYaml) -> RuleSet:
    if not isinstance(doc.data, dict):
        raise ConfigError("a rule set must be a mapping with name, version and thresholds", file=doc.source)
    try:
        return RuleSet.model_validate(doc.data)
    except ValidationError as exc:
        problem = yamlfile.describe_validation_error(exc, doc)[0]
        hint = None
        if problem.message == "unknown field":
            hint = _did_you_mean(problem.field)
        where = f"{doc.source}:{problem.line}" if problem.line else doc.source
        raise ConfigError(problem.message, file=where, field=problem.field, hint=hint) from exc


def load_rule_set(path: Path) -> RuleSet:
    """A rule set from a YAML file; errors name the file, line and field."""
    try:
        doc = yamlfile.load(path)
    except yamlfile.YamlError as exc:
        raise ConfigError(exc.reason, file=f"{path}:{exc.line}" if exc.line else path) from exc
    return _rule_set_from_yaml(doc)


def builtin_rule_set(name: str = "default") -> RuleSet:
    path = BUILTIN_RULES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in BUILTIN_RULES_DIR.glob("*.yaml")))
        raise ConfigError(f"no built-in rule set named '{name}'", field="rules", hint=f"built-in: {known}")
    return load_rule_set(path)


def rules_for_workspace(workspace: Path, rules_file: Path | None) -> RuleSet:
    """The workspace's rule set: ``rules.file`` in qcloop.yaml (relative to the workspace), else the default."""
    if rules_file is None:
        return builtin_rule_set()
    path = rules_file.expanduser()
    path = path if path.is_absolute() else workspace / path
    if not path.is_file():
        raise ConfigError(f"the rule set {path} does not exist", field="rules.file",
                          hint="fix the path in qcloop.yaml, or remove it to use the built-in default rules")
    return load_rule_set(path)


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, RULE_NAMES, n=2)
    return f"did you mean {' or '.join(close)}?" if close else f"known rules: {', '.join(RULE_NAMES)}"


def validate_overrides(
    overrides: Mapping[str, Any], *, source: str = "the hypothesis spec",
) -> dict[str, float]:
    """Check a hypothesis's ``rules:`` mapping: known names and numbers only (a clear error otherwise)."""
    clean: dict[str, float] = {}
    for key, value in overrides.items():
        if key not in RULE_NAMES:
            raise SpecError(
                f"unknown rule '{key}'", file=source, field=f"rules.{key}",
                allowed=", ".join(RULE_NAMES), hint=_did_you_mean(str(key)),
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise SpecError(f"rule '{key}' must be a number, not {value!r}", file=source, field=f"rules.{key}")
        clean[key] = float(value)
    return clean


def with_overrides(rules: RuleSet, overrides: Mapping[str, float], *, source: str = "the hypothesis spec") -> RuleSet:
    if not overrides:
        return rules
    merged = {**rules.model_dump(), **validate_overrides(overrides, source=source)}
    try:
        return RuleSet.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SpecError(first["msg"], file=source, field=f"rules.{field}") from exc


# ------------------------------------------------------------------------------------------------
# checks


def _check(rule: str, passed: bool, observed: float | None, threshold: float | None, reason: str) -> Check:
    return Check(rule=rule, passed=passed, observed=observed, threshold=threshold, reason=reason)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def backtest_checks(label: str, f: BacktestFigures, rules: RuleSet) -> list[Check]:
    """The checks every backtest a decision reads must pass (baseline and confirmation)."""
    checks = [
        _check("min_trades", f.trades >= rules.min_trades, f.trades, rules.min_trades,
               f"{label}: {f.trades} trades {'>=' if f.trades >= rules.min_trades else '<'} {rules.min_trades}"),
        _check("min_sharpe", f.sharpe >= rules.min_sharpe, f.sharpe, rules.min_sharpe,
               f"{label}: Sharpe {_fmt(f.sharpe)} {'>=' if f.sharpe >= rules.min_sharpe else '<'} "
               f"{_fmt(rules.min_sharpe)}"),
        _check("max_drawdown", f.drawdown <= rules.max_drawdown, f.drawdown, rules.max_drawdown,
               f"{label}: drawdown {_pct(f.drawdown)} {'<=' if f.drawdown <= rules.max_drawdown else '>'} "
               f"{_pct(rules.max_drawdown)}"),
    ]
    if f.psr is None:
        checks.append(_check("min_psr", True, None, rules.min_psr, f"{label}: PSR not available, not checked"))
    else:
        ok = f.psr >= rules.min_psr
        checks.append(_check("min_psr", ok, f.psr, rules.min_psr,
                             f"{label}: PSR {_fmt(f.psr, 3)} {'>=' if ok else '<'} {_fmt(rules.min_psr, 3)}"))
    checks += tripwire_checks(label, f, rules)
    return checks


def tripwire_checks(label: str, f: BacktestFigures, rules: RuleSet) -> list[Check]:
    """Too good to be true: results that a bug or luck explains better than an edge."""
    extreme = f.sharpe > rules.tripwire_max_sharpe
    lucky = f.sharpe > rules.tripwire_sharpe and f.trades < rules.tripwire_min_trades
    checks = [
        _check("tripwire_max_sharpe", not extreme, f.sharpe, rules.tripwire_max_sharpe,
               f"{label}: Sharpe {_fmt(f.sharpe)} "
               + (f"> {_fmt(rules.tripwire_max_sharpe)} is too good to be true (look for look-ahead bias)"
                  if extreme else f"<= {_fmt(rules.tripwire_max_sharpe)}")),
        _check("tripwire_sharpe", not lucky, f.sharpe, rules.tripwire_sharpe,
               f"{label}: Sharpe {_fmt(f.sharpe)} on {f.trades} trades"
               + (f" is too good to be true (> {_fmt(rules.tripwire_sharpe)} with < {rules.tripwire_min_trades} "
                  "trades)" if lucky else " is plausible")),
    ]
    if f.trades >= rules.min_trades:
        checks += win_rate_checks(label, f, rules)
    return checks


def win_rate_checks(label: str, f: BacktestFigures, rules: RuleSet) -> list[Check]:
    """The win-rate tripwire, on the share of winners among the closed round trips.

    That share is ``f.round_trip_win_rate`` (the trade statistics). Records made before it was recorded
    have only LEAN's "Win Rate", which counts every order that reduces a position; it equals the
    round-trip share only when each trade is one entry and one exit (``win_rate_counts_round_trips``).
    Without trade statistics at all, ``trades`` is only estimated from the orders, so nothing tells
    the two apart and LEAN's figure is recorded, not checked. Why it matters: a strategy that resizes
    positions -- a portfolio rebalanced to equal weights trims its winners whenever another ticker
    enters or leaves -- reports mostly the share of trims that realised a gain (55-77 % for ts_momentum
    on pure random walks, whose round trips win 23-48 %; docs/research-validity.md).
    """
    threshold = rules.tripwire_win_rate
    if f.round_trip_win_rate is not None:
        observed, what = f.round_trip_win_rate, f"win rate {_pct(f.round_trip_win_rate)} of {f.trades} trades"
    elif f.win_rate is not None and not f.trades_estimated and win_rate_counts_round_trips(f):
        observed, what = f.win_rate, f"win rate {_pct(f.win_rate)}"
    elif f.win_rate is not None and f.trades_estimated:
        return [_check("tripwire_win_rate", True, f.win_rate, threshold,
                       f"{label}: win rate {_pct(f.win_rate)} not checked: without trade statistics it cannot be "
                       "told apart from a share of position-reducing orders")]
    elif f.win_rate is not None:
        return [_check("tripwire_win_rate", True, f.win_rate, threshold,
                       f"{label}: win rate {_pct(f.win_rate)} not checked: {f.total_orders} orders for {f.trades} "
                       "trades, so it also counts the trims of positions that were resized")]
    else:
        return []
    high = observed > threshold
    return [_check("tripwire_win_rate", not high, observed, threshold,
                   f"{label}: {what} " + (f"> {_pct(threshold)} is too good to be true" if high
                                          else f"<= {_pct(threshold)}"))]


def win_rate_counts_round_trips(f: BacktestFigures) -> bool:
    """Whether LEAN's ``f.win_rate`` equals the share of winners among the ``f.trades`` round trips.

    LEAN's "Win Rate" counts every order that reduces a position; ``trades`` (what min_trades counts) are
    round trips, flat to flat. The two agree when each trade is one entry and one exit: at most
    2 x trades + 1 orders (the 1: a position still open at the end). An unknown order count (0) keeps
    the plain reading.
    """
    return f.total_orders <= 2 * f.trades + 1


def parity_checks(label: str, notebook_sharpe: float | None, notebook_return: float | None,
                  backtest: BacktestFigures | None, rules: RuleSet) -> list[Check]:
    """The notebook's figures at the baseline parameters must agree with the baseline backtest."""
    if backtest is None or notebook_sharpe is None:
        return [_check("parity_sharpe_tolerance", True, None, rules.parity_sharpe_tolerance,
                       f"{label}: no baseline figures to compare, parity not checked")]
    gap = abs(notebook_sharpe - backtest.sharpe)
    checks = [_check(
        "parity_sharpe_tolerance", gap <= rules.parity_sharpe_tolerance, gap, rules.parity_sharpe_tolerance,
        f"{label}: Sharpe {_fmt(notebook_sharpe)} vs backtest {_fmt(backtest.sharpe)} "
        f"(gap {_fmt(gap, 3)} {'<=' if gap <= rules.parity_sharpe_tolerance else '>'} "
        f"{_fmt(rules.parity_sharpe_tolerance, 3)})",
    )]
    if notebook_return is not None:
        # Absolute for ordinary returns, relative once the backtest more than doubled the money.
        allowed = rules.parity_return_tolerance * max(1.0, abs(backtest.net_profit))
        gap_r = abs(notebook_return - backtest.net_profit)
        checks.append(_check(
            "parity_return_tolerance", gap_r <= allowed, gap_r, allowed,
            f"{label}: total return {_pct(notebook_return)} vs backtest {_pct(backtest.net_profit)} "
            f"(gap {_pct(gap_r)} {'<=' if gap_r <= allowed else '>'} {_pct(allowed)})",
        ))
    return checks


def deflated_sharpe(figures: BacktestFigures, trials: TrialStats) -> tuple[float | None, float | None]:
    """(DSR, SR0 annualized) for the selected configuration given the family's trials.

    Per-period conventions (reference/overfitting.md §1): the annual variance of the trials' Sharpe
    ratios is divided by 252, SR0 multiplied back by sqrt(252) for display. With fewer than two trials
    there is no selection to deflate for, so SR0 = 0 and the DSR is the PSR against zero.
    """
    from orchestrator import stats

    sr = figures.sharpe_per_period
    n = figures.observations
    if sr is None or n is None or n < 2 or figures.skewness is None or figures.kurtosis is None:
        return None, None
    variance = trials.sharpe_variance / PERIODS_PER_YEAR
    if trials.family_trials < 2 or variance <= 0:
        psr = stats.probabilistic_sharpe_ratio(sr, 0.0, n, figures.skewness, figures.kurtosis)
        return float(psr), 0.0
    dsr = stats.deflated_sharpe_ratio(sr, n, figures.skewness, figures.kurtosis, trials.family_trials, variance)
    sr0 = stats.expected_max_sharpe(trials.family_trials, variance)
    return float(dsr), float(sr0) * math.sqrt(PERIODS_PER_YEAR)


# ------------------------------------------------------------------------------------------------
# the three decisions


def _summary_of(f: BacktestFigures) -> str:
    return f"Sharpe {f.sharpe:.2f}, {f.trades} trades"


def _decision(step: Step, ev: Evidence, checks: list[Check], rules: RuleSet, overrides: Mapping[str, float],
              *, passed: Action, summary: str, failed: Action = Action.REJECT,
              parameters: dict[str, str] | None = None) -> Decision:
    failures = [c for c in checks if not c.passed]
    action = failed if failures else passed
    if failures:
        summary = "; ".join(c.reason for c in failures)
    return Decision(step=step, action=action, rules=rules.label, overrides=dict(overrides), checks=checks,
                    summary=summary, evidence=ev, parameters=None if failures else parameters)


def decide_baseline(ev: Evidence, rules: RuleSet, overrides: Mapping[str, float]) -> Decision:
    if ev.baseline is None:
        raise ValueError("the baseline decision needs baseline figures")
    checks = backtest_checks("baseline", ev.baseline, rules)
    nxt = Action.OPTIMIZE if ev.can_optimize else Action.VALIDATE
    return _decision(Step.BASELINE, ev, checks, rules, overrides, passed=nxt, summary=_summary_of(ev.baseline))


def _as_parameter(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def decide_optimization(ev: Evidence, rules: RuleSet, overrides: Mapping[str, float]) -> Decision:
    sweep = ev.sweep
    if sweep is None:
        raise ValueError("the optimization decision needs sweep figures")
    checks = parity_checks("sweep notebook at baseline parameters", sweep.baseline_sharpe,
                           sweep.baseline_total_return, ev.baseline, rules)
    if not all(c.passed for c in checks):
        return _decision(Step.OPTIMIZE, ev, checks, rules, overrides,
                         passed=Action.VALIDATE, summary="", failed=Action.FLAG)
    base = ev.baseline.sharpe if ev.baseline is not None else sweep.baseline_sharpe
    gain = sweep.chosen_sharpe - base if base is not None else 0.0
    checks.append(_check(
        "min_sharpe", sweep.chosen_sharpe >= rules.min_sharpe, sweep.chosen_sharpe, rules.min_sharpe,
        f"chosen point: Sharpe {_fmt(sweep.chosen_sharpe)} "
        f"{'>=' if sweep.chosen_sharpe >= rules.min_sharpe else '<'} {_fmt(rules.min_sharpe)}",
    ))
    checks.append(_check(
        "max_optimization_gain", gain <= rules.max_optimization_gain, gain, rules.max_optimization_gain,
        f"optimization gain {gain:+.2f} "
        + ("<= " + _fmt(rules.max_optimization_gain) if gain <= rules.max_optimization_gain
           else f"> {_fmt(rules.max_optimization_gain)}: a spike found by search, likely curve fitting"),
    ))
    if sweep.plateau_sharpe is not None and sweep.chosen_sharpe > 0:
        ratio = sweep.plateau_sharpe / sweep.chosen_sharpe
        checks.append(_check(
            "min_plateau_ratio", ratio >= rules.min_plateau_ratio, ratio, rules.min_plateau_ratio,
            f"plateau: neighbours keep {ratio:.0%} of the chosen Sharpe "
            f"({'>=' if ratio >= rules.min_plateau_ratio else '<'} {rules.min_plateau_ratio:.0%})",
        ))
    keep_baseline = gain < rules.min_optimization_gain
    checks.append(_check(
        "min_optimization_gain", True, gain, rules.min_optimization_gain,
        f"gain {gain:+.2f} < {_fmt(rules.min_optimization_gain)}: keeping the baseline parameters"
        if keep_baseline else f"gain {gain:+.2f} >= {_fmt(rules.min_optimization_gain)}: adopting the chosen point",
    ))
    chosen = ", ".join(f"{k}={_as_parameter(v)}" for k, v in sorted(sweep.chosen.items()))
    summary = (f"best Sharpe {sweep.best_sharpe:.2f}, chosen {chosen} (Sharpe {sweep.chosen_sharpe:.2f}, "
               f"gain {gain:+.2f})" + ("; baseline parameters kept" if keep_baseline else ""))
    parameters = None if keep_baseline else {k: _as_parameter(v) for k, v in sweep.chosen.items()}
    return _decision(Step.OPTIMIZE, ev, checks, rules, overrides,
                     passed=Action.VALIDATE, summary=summary, parameters=parameters)


def decide_validation(ev: Evidence, rules: RuleSet, overrides: Mapping[str, float]) -> Decision:
    wf = ev.walk_forward
    if wf is None or ev.confirmation is None:
        raise ValueError("the validation decision needs walk-forward and confirmation figures")
    checks = parity_checks("walk-forward notebook at baseline parameters", wf.baseline_sharpe,
                           wf.baseline_total_return, ev.baseline, rules)
    if not all(c.passed for c in checks):
        return _decision(Step.VALIDATE, ev, checks, rules, overrides,
                         passed=Action.ACCEPT, summary="", failed=Action.FLAG)
    oos_ok = wf.out_of_sample_sharpe >= rules.min_oos_sharpe
    checks.append(_check(
        "min_oos_sharpe", oos_ok, wf.out_of_sample_sharpe, rules.min_oos_sharpe,
        f"walk-forward: out-of-sample Sharpe {_fmt(wf.out_of_sample_sharpe)} {'>=' if oos_ok else '<'} "
        f"{_fmt(rules.min_oos_sharpe)}",
    ))
    if wf.in_sample_sharpe > 0:
        degradation = 1.0 - wf.out_of_sample_sharpe / wf.in_sample_sharpe
        ok = degradation <= rules.max_oos_degradation
        checks.append(_check(
            "max_oos_degradation", ok, degradation, rules.max_oos_degradation,
            f"walk-forward: out-of-sample keeps {1 - degradation:.0%} of the in-sample Sharpe "
            f"{_fmt(wf.in_sample_sharpe)} (degradation {degradation:.0%} {'<=' if ok else '>'} "
            f"{rules.max_oos_degradation:.0%})",
        ))
    else:
        checks.append(_check(
            "max_oos_degradation", False, None, rules.max_oos_degradation,
            f"walk-forward: in-sample Sharpe {_fmt(wf.in_sample_sharpe)} <= 0, the search found nothing to carry over",
        ))
    checks += backtest_checks("confirmation", ev.confirmation, rules)
    trials = ev.trials
    dsr_text = ""
    if trials is not None:
        dsr, sr0 = deflated_sharpe(ev.confirmation, trials)
        trials = trials.model_copy(update={"deflated_sharpe": dsr, "expected_max_sharpe": sr0})
        ev = ev.model_copy(update={"trials": trials})
        if dsr is None:
            checks.append(_check("min_deflated_sharpe", True, None, rules.min_deflated_sharpe,
                                 "Deflated Sharpe: return moments not available, not checked"))
        else:
            ok = dsr >= rules.min_deflated_sharpe
            checks.append(_check(
                "min_deflated_sharpe", ok, dsr, rules.min_deflated_sharpe,
                f"Deflated Sharpe {dsr:.3f} {'>=' if ok else '<'} {rules.min_deflated_sharpe:.3f} "
                f"({trials.family_trials} trials in family {trials.family}, expected max Sharpe {_fmt(sr0)})",
            ))
            dsr_text = f", DSR {dsr:.2f}"
    if ev.holdout is not None:
        ok = ev.holdout.sharpe >= rules.min_holdout_sharpe
        checks.append(_check(
            "min_holdout_sharpe", ok, ev.holdout.sharpe, rules.min_holdout_sharpe,
            f"holdout: Sharpe {_fmt(ev.holdout.sharpe)} {'>=' if ok else '<'} {_fmt(rules.min_holdout_sharpe)}",
        ))
    summary = (f"OOS Sharpe {wf.out_of_sample_sharpe:.2f} (IS {wf.in_sample_sharpe:.2f}){dsr_text}"
               + (f", holdout Sharpe {ev.holdout.sharpe:.2f}" if ev.holdout is not None else ""))
    return _decision(Step.VALIDATE, ev, checks, rules, overrides, passed=Action.ACCEPT, summary=summary)


def decide(step: Step, evidence: Evidence, rules: RuleSet, overrides: Mapping[str, float] | None = None) -> Decision:
    """The decision of ``step`` on ``evidence`` under ``rules`` with the hypothesis's ``overrides``."""
    overrides = dict(overrides or {})
    effective = with_overrides(rules, overrides)
    if step is Step.BASELINE:
        return decide_baseline(evidence, effective, overrides)
    if step is Step.OPTIMIZE:
        return decide_optimization(evidence, effective, overrides)
    if step is Step.VALIDATE:
        return decide_validation(evidence, effective, overrides)
    raise ValueError(f"no decision is made at step {step.value}")
