"""Decisions: pure functions of recorded evidence and a versioned rule set."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from orchestrator.decide import (
    RULE_NAMES,
    builtin_rule_set,
    decide,
    deflated_sharpe,
    load_rule_set,
    validate_overrides,
)
from orchestrator.errors import ConfigError, SpecError
from orchestrator.models import (
    Action,
    BacktestFigures,
    Evidence,
    GridPoint,
    Step,
    SweepFigures,
    TrialStats,
    WalkForwardFigures,
    WindowFigures,
)

RULES = builtin_rule_set()


def figures(**changes: object) -> BacktestFigures:
    base = dict(sharpe=1.0, psr=0.97, drawdown=0.2, trades=40, win_rate=0.55, net_profit=0.8, backtest_id="b1")
    return BacktestFigures(**{**base, **changes})  # type: ignore[arg-type]


def failed_rules(decision) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.rule for c in decision.checks if not c.passed]


def test_the_builtin_rule_set_is_versioned_and_recorded_on_decisions() -> None:
    assert RULES.label == "default@2"
    decision = decide(Step.BASELINE, Evidence(can_optimize=True, baseline=figures()), RULES)
    assert decision.rules == "default@2"
    assert decision.action is Action.OPTIMIZE
    assert decision.summary == "Sharpe 1.00, 40 trades"
    assert all(c.passed for c in decision.checks)


def test_a_baseline_without_a_search_space_goes_straight_to_validation() -> None:
    decision = decide(Step.BASELINE, Evidence(can_optimize=False, baseline=figures()), RULES)
    assert decision.action is Action.VALIDATE


@pytest.mark.parametrize(("changes", "rule", "reason"), [
    ({"trades": 9}, "min_trades", "9 trades < 10"),
    ({"sharpe": 0.29}, "min_sharpe", "Sharpe 0.29 < 0.30"),
    ({"drawdown": 0.36}, "max_drawdown", "drawdown 36.0% > 35.0%"),
    ({"psr": 0.79}, "min_psr", "PSR 0.790 < 0.800"),
    ({"sharpe": 4.1, "trades": 200}, "tripwire_max_sharpe", "too good to be true"),
    ({"sharpe": 2.6, "trades": 29}, "tripwire_sharpe", "> 2.50 with < 30 trades"),
    ({"win_rate": 0.9}, "tripwire_win_rate", "win rate 90.0% > 85.0%"),
])
def test_each_baseline_rule_rejects_with_its_reason(changes: dict[str, object], rule: str, reason: str) -> None:
    decision = decide(Step.BASELINE, Evidence(can_optimize=True, baseline=figures(**changes)), RULES)
    assert decision.action is Action.REJECT
    assert failed_rules(decision) == [rule]
    assert reason in decision.summary


def test_the_win_rate_tripwire_ignores_too_few_trades() -> None:
    # 9 trades fail min_trades already; a 100 % win rate on 9 trades says nothing more.
    decision = decide(Step.BASELINE, Evidence(baseline=figures(trades=9, win_rate=1.0)), RULES)
    assert failed_rules(decision) == ["min_trades"]


def test_hypothesis_overrides_apply_and_are_recorded() -> None:
    evidence = Evidence(can_optimize=True, baseline=figures(sharpe=0.5))
    assert decide(Step.BASELINE, evidence, RULES).action is Action.OPTIMIZE
    strict = decide(Step.BASELINE, evidence, RULES, {"min_sharpe": 0.6})
    assert strict.action is Action.REJECT
    assert strict.overrides == {"min_sharpe": 0.6}
    assert "Sharpe 0.50 < 0.60" in strict.summary


def test_unknown_or_non_numeric_overrides_are_clear_errors() -> None:
    with pytest.raises(SpecError, match="unknown rule 'min_sharp'") as info:
        validate_overrides({"min_sharp": 0.4}, source="hypotheses/H-001.yaml")
    assert "did you mean min_sharpe" in str(info.value)
    assert "hypotheses/H-001.yaml" in str(info.value)
    with pytest.raises(SpecError, match="must be a number"):
        validate_overrides({"min_sharpe": "high"})
    with pytest.raises(SpecError, match="must be a number"):
        validate_overrides({"min_trades": True})
    assert set(RULE_NAMES) >= {"min_sharpe", "min_deflated_sharpe", "max_oos_degradation", "tripwire_win_rate"}


def test_a_rule_set_file_with_a_typo_names_file_line_and_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("name: strict\nversion: 2\nmin_sharpe: 0.5\nmax_drawdwn: 0.2\n")
    with pytest.raises(ConfigError, match=r"strict\.yaml:4.*max_drawdwn.*unknown field") as info:
        load_rule_set(path)
    assert "did you mean max_drawdown" in str(info.value)
    path.write_text("name: strict\nversion: 2\nmin_sharpe: 0.5\n")
    rules = load_rule_set(path)
    assert rules.label == "strict@2" and rules.min_sharpe == 0.5 and rules.max_drawdown == RULES.max_drawdown


def sweep(**changes: object) -> SweepFigures:
    points = [GridPoint(parameters={"fast": f}, sharpe=s) for f, s in ((10, 1.1), (20, 1.2), (30, 1.15))]
    base = dict(points=points, chosen={"fast": 20.0}, chosen_sharpe=1.2, best_sharpe=1.2, plateau_sharpe=1.125,
                baseline_sharpe=1.02, baseline_total_return=0.81)
    return SweepFigures(**{**base, **changes})  # type: ignore[arg-type]


def test_an_optimization_adopts_the_chosen_plateau_point() -> None:
    decision = decide(Step.OPTIMIZE, Evidence(baseline=figures(), sweep=sweep()), RULES)
    # gain = 1.2 - 1.0 = +0.2 >= 0.1 (min_optimization_gain): the chosen parameters are adopted.
    assert decision.action is Action.VALIDATE
    assert decision.parameters == {"fast": "20"}
    assert "gain +0.20" in decision.summary


def test_a_small_gain_keeps_the_baseline_parameters() -> None:
    decision = decide(Step.OPTIMIZE, Evidence(baseline=figures(), sweep=sweep(chosen_sharpe=1.05)), RULES)
    assert decision.action is Action.VALIDATE
    assert decision.parameters is None
    assert "baseline parameters kept" in decision.summary


def test_a_spike_far_above_the_baseline_is_rejected_as_curve_fitting() -> None:
    decision = decide(Step.OPTIMIZE, Evidence(baseline=figures(), sweep=sweep(chosen_sharpe=2.6, best_sharpe=2.6,
                                                                              plateau_sharpe=2.0)), RULES)
    assert decision.action is Action.REJECT
    assert failed_rules(decision) == ["max_optimization_gain"]


def test_neighbours_that_lose_the_edge_fail_the_plateau_rule() -> None:
    # 0.6 / 1.2 = 50 % of the chosen Sharpe one grid step away, below min_plateau_ratio 60 %.
    decision = decide(Step.OPTIMIZE, Evidence(baseline=figures(), sweep=sweep(plateau_sharpe=0.6)), RULES)
    assert decision.action is Action.REJECT
    assert failed_rules(decision) == ["min_plateau_ratio"]


def test_a_notebook_that_disagrees_with_the_backtest_is_flagged_not_scored() -> None:
    decision = decide(Step.OPTIMIZE, Evidence(baseline=figures(), sweep=sweep(baseline_sharpe=1.3)), RULES)
    # |1.3 - 1.0| = 0.3 > parity_sharpe_tolerance 0.15
    assert decision.action is Action.FLAG
    assert failed_rules(decision) == ["parity_sharpe_tolerance"]
    assert decision.parameters is None


def walk_forward(**changes: object) -> WalkForwardFigures:
    windows = [WindowFigures(in_sample_sharpe=1.2, out_of_sample_sharpe=0.9)]
    base = dict(windows=windows, in_sample_sharpe=1.2, out_of_sample_sharpe=0.9, baseline_sharpe=1.0,
                baseline_total_return=0.8)
    return WalkForwardFigures(**{**base, **changes})  # type: ignore[arg-type]


def trials(n: int = 1, variance: float = 0.0) -> TrialStats:
    return TrialStats(hypothesis_trials=n, family="ma_crossover", family_trials=n, sharpe_variance=variance)


def test_validation_accepts_what_holds_out_of_sample() -> None:
    ev = Evidence(baseline=figures(), walk_forward=walk_forward(), confirmation=figures(sharpe=1.1),
                  holdout=figures(sharpe=0.4), trials=trials())
    decision = decide(Step.VALIDATE, ev, RULES)
    assert decision.action is Action.ACCEPT, decision.summary
    assert decision.summary.startswith("OOS Sharpe 0.90 (IS 1.20)")


def test_validation_rejects_degradation_and_a_bad_holdout() -> None:
    # OOS keeps 0.4 / 1.2 = 33 % of the in-sample Sharpe: degradation 67 % > 60 %.
    ev = Evidence(baseline=figures(), walk_forward=walk_forward(out_of_sample_sharpe=0.4),
                  confirmation=figures(), holdout=figures(sharpe=-0.3), trials=trials())
    decision = decide(Step.VALIDATE, ev, RULES)
    assert decision.action is Action.REJECT
    assert failed_rules(decision) == ["max_oos_degradation", "min_holdout_sharpe"]


def test_validation_rejects_an_in_sample_search_that_found_nothing() -> None:
    ev = Evidence(baseline=figures(), walk_forward=walk_forward(in_sample_sharpe=-0.1, out_of_sample_sharpe=0.3),
                  confirmation=figures(), trials=trials())
    decision = decide(Step.VALIDATE, ev, RULES)
    assert failed_rules(decision) == ["max_oos_degradation"]
    assert "found nothing to carry over" in decision.summary


def test_deflated_sharpe_reproduces_the_papers_example() -> None:
    # Bailey & López de Prado (2014): annual SR 2.5 on daily data (250 per year), T = 1250, skew -3,
    # kurtosis 10, N = 100 trials whose annual Sharpe ratios have variance 0.5 -> DSR 0.9004.
    # qcloop de-annualizes variances with 252 days, so passing 0.5 * 252 / 250 gives the paper's
    # per-day variance 0.5 / 250 exactly.
    paper = figures(sharpe_per_period=2.5 / math.sqrt(250), observations=1250, skewness=-3.0, kurtosis=10.0)
    dsr, sr0 = deflated_sharpe(paper, trials(100, 0.5 * 252 / 250))
    assert dsr == pytest.approx(0.9004, abs=5e-5)
    assert sr0 is not None and sr0 / math.sqrt(252) == pytest.approx(0.1132, abs=5e-5)  # SR0 per day


def test_the_deflated_sharpe_rule_uses_the_family_trial_count() -> None:
    paper = figures(sharpe_per_period=2.5 / math.sqrt(250), observations=1250, skewness=-3.0, kurtosis=10.0)
    ev = Evidence(baseline=figures(), walk_forward=walk_forward(), confirmation=paper,
                  trials=trials(100, 0.5 * 252 / 250))
    decision = decide(Step.VALIDATE, ev, RULES)
    assert failed_rules(decision) == ["min_deflated_sharpe"]  # 0.9004 < 0.95
    assert "100 trials in family ma_crossover" in decision.summary
    assert decision.evidence.trials is not None
    assert decision.evidence.trials.deflated_sharpe == pytest.approx(0.9004, abs=5e-5)
    lenient = decide(Step.VALIDATE, ev, RULES, {"min_deflated_sharpe": 0.9})
    assert lenient.action is Action.ACCEPT


def test_the_neighbourhood_of_the_chosen_point_is_one_grid_step_on_the_swept_axes() -> None:
    from orchestrator.loop.evidence import neighbourhood_sharpe

    # A 3 x 3 grid over fast and slow; the chosen point also names a parameter held fixed (trend).
    sharpe = {(10, 50): 0.2, (10, 75): 0.4, (10, 100): 0.3, (20, 50): 0.5, (20, 75): 1.0, (20, 100): 0.7,
              (30, 50): 0.1, (30, 75): 0.6, (30, 100): 0.2}
    points = [GridPoint(parameters={"fast": f, "slow": s}, sharpe=v) for (f, s), v in sharpe.items()]
    # Around (20, 75) every other cell is a neighbour: (0.2+0.4+0.3+0.5+0.7+0.1+0.6+0.2) / 8 = 0.375
    assert neighbourhood_sharpe(points, {"fast": 20, "slow": 75, "trend": 200}) == pytest.approx(0.375)
    # Around the corner (10, 50): (10,75), (20,50), (20,75) -> (0.4 + 0.5 + 1.0) / 3
    assert neighbourhood_sharpe(points, {"fast": 10, "slow": 50}) == pytest.approx(1.9 / 3)
    assert neighbourhood_sharpe(points[:1], {"fast": 10, "slow": 50}) is None  # a one-point grid
