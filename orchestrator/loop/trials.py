"""Trial accounting (DESIGN.md §5, issue 8 item 3): every backtest and every grid point is a trial.

Trials are recorded on the hypothesis that ran them; a family's count (all hypotheses of the same
strategy template, in this workspace) and the variance of its trials' Sharpe ratios are derived from
the state files whenever a decision needs them, so there is no second copy to drift. The Deflated
Sharpe Ratio of a validation deflates by that count and that variance.

What counts: the baseline, confirmation and holdout backtests, every grid point of a notebook sweep and
every backtest of a cloud optimization. The walk-forward windows do not: they re-evaluate the same grid
on sub-periods to test the selection procedure, they do not add configurations to select from.

What the variance is taken over: the trials measured on the data the search selects from. The DSR's
threshold SR0 = sqrt(V) x E[max of N standard normals] is the Sharpe ratio the best of N unskilled
candidates reaches by luck, with V the variance of the candidates' Sharpe estimates on the backtest
sample the selection was made on (Bailey & López de Prado 2014, Eq. 1-2). The holdout backtest is no
such candidate: it measures the already chosen configuration once, on the final window the search never
saw (a fifth of the period, so its estimate alone scatters about twice as widely). Mixing its Sharpe
ratio into V adds that window's sampling noise and the chosen configuration's out-of-sample move to the
spread of the candidates, which raises SR0 for no reason the paper gives (in the research-validity
experiment it tripled V for some hypotheses). It still counts in N: counting it is conservative and
keeps "every backtest is a trial" true. See docs/research-validity.md.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from orchestrator.models import HypothesisState, Trial, TrialStats

# The label stages.py gives the trial of the holdout backtest (the key of its validation job).
HOLDOUT_LABEL = "holdout"


def family_trials(states: Iterable[HypothesisState], family: str) -> list[Trial]:
    return [trial for state in states if state.family == family for trial in state.trials]


def on_search_data(trial: Trial) -> bool:
    """Whether a trial measured a candidate on the data the search selects from (all but the holdout)."""
    return not (trial.kind == "backtest" and trial.label == HOLDOUT_LABEL)


def trial_stats(state: HypothesisState, others: Iterable[HypothesisState]) -> TrialStats:
    """The counts and Sharpe variance for ``state``'s family, ``state`` itself taken as given (it may be newer).

    ``family_trials`` counts every trial; ``sharpe_variance`` is the variance (n - 1) of the annual Sharpe
    ratios of the trials on the search data (see the module docstring), 0 with fewer than two of them.
    """
    peers = [s for s in others if s.id != state.id]
    trials = family_trials([state, *peers], state.family)
    sharpes = [t.sharpe for t in trials if on_search_data(t)]
    variance = statistics.variance(sharpes) if len(sharpes) >= 2 else 0.0
    return TrialStats(
        hypothesis_trials=len(state.trials), family=state.family, family_trials=len(trials),
        sharpe_variance=variance,
    )
