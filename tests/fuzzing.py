"""Hypothesis settings for the suite's property-based tests: the same examples on every run (derandomized, no
example database), a fixed number of them, no deadline (a busy CI machine is not a failure); failures shrink."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings


def bounded(examples: int) -> settings:
    """Settings for a test that tries `examples` generated examples, deterministically."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        # Function-scoped fixtures (the app, its database) are shared by a test's examples on purpose.
        suppress_health_check=list(HealthCheck),
    )
