"""Hypothesis profiles for the fuzz tier, and the integration fixtures its handler test reuses.

The default run is moderate (`fuzz`, 200 examples) so `make unit` stays fast. The dedicated run,
`HYPOTHESIS_PROFILE=fuzz_long pytest -m fuzz_long tests/fuzz`, loads `fuzz_long` (5,000 examples)
and enables the long test, which is skipped otherwise (the `fuzz_long` marker alone is not enough:
`make unit` passes its own -m, which replaces the deselection in addopts).

No profile is loaded globally unless HYPOTHESIS_PROFILE asks for it, so the other tiers' own
hypothesis tests keep their settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.integration import conftest as integration

LONG_PROFILE = "fuzz_long"

settings.register_profile(
    "fuzz",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    LONG_PROFILE,
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


def long_run_enabled() -> bool:
    return os.environ.get("HYPOTHESIS_PROFILE") == LONG_PROFILE


# The moto + emulator stack of the integration tier (fixtures are found by name in a conftest).
emulator = integration.emulator
stack = integration.stack
