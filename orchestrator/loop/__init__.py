"""The research loop: the state machine (machine.py), one function per stage (stages.py), exactly-once
side effects (effects.py), steps as git commits (journal.py), waits (waiting.py), trial accounting
(trials.py), evidence from results (evidence.py) and the scheduler (runner.py)."""
