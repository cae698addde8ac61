"""Hypothesis profiles of the property tests, and their example budget per dialect.

The ``default`` profile keeps the whole package to about a minute; ``long`` (set
``HYPOTHESIS_PROFILE=long``) runs twenty times the examples for a local soak. CI
(``CI=true``) draws the same examples on every run, so a red build is reproducible.
PostgreSQL runs a quarter of each budget: the generators are the same, and a
round trip to the server costs more.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    max_examples=100,
    derandomize=os.environ.get("CI") == "true",
    # The examples live in the test's output; nothing is written into the work tree.
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("long", parent=settings.get_profile("default"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_POSTGRES_SHARE = 0.25


def budget(dialect: str, share: float = 1.0) -> settings:
    """Settings for one property: ``share`` of the profile's examples, less on PostgreSQL."""
    examples = settings().max_examples * share
    if dialect == "postgresql":
        examples *= _POSTGRES_SHARE
    return settings(max_examples=max(5, int(examples)))
