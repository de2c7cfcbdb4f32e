"""Hypothesis settings for the statistics' property tests.

Derandomized (the same examples on every run and machine, so a failure reproduces), no example database
written into the working tree, and no per-example deadline: the suite shares two cores with others, and a
slow example is not a wrong one.
"""

from hypothesis import settings

settings.register_profile("qcloop-stats", derandomize=True, database=None, deadline=None)
settings.load_profile("qcloop-stats")
