"""Trial accounting (DESIGN.md §5, issue 8 item 3): every backtest and every grid point is a trial.

Trials are recorded on the hypothesis that ran them; a family's count (all hypotheses of the same
strategy template, in this workspace) and the variance of its trials' Sharpe ratios are derived from
the state files whenever a decision needs them, so there is no second copy to drift. The Deflated
Sharpe Ratio of a validation deflates by that count and that variance.

What counts: the baseline, confirmation and holdout backtests, every grid point of a notebook sweep and
every backtest of a cloud optimization. The walk-forward windows do not: they re-evaluate the same grid
on sub-periods to test the selection procedure, they do not add configurations to select from.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from orchestrator.models import HypothesisState, Trial, TrialStats


def family_trials(states: Iterable[HypothesisState], family: str) -> list[Trial]:
    return [trial for state in states if state.family == family for trial in state.trials]


def trial_stats(state: HypothesisState, others: Iterable[HypothesisState]) -> TrialStats:
    """The counts and Sharpe variance for ``state``'s family, ``state`` itself taken as given (it may be newer)."""
    peers = [s for s in others if s.id != state.id]
    trials = family_trials([state, *peers], state.family)
    sharpes = [t.sharpe for t in trials]
    variance = statistics.variance(sharpes) if len(sharpes) >= 2 else 0.0
    return TrialStats(
        hypothesis_trials=len(state.trials), family=state.family, family_trials=len(trials),
        sharpe_variance=variance,
    )
