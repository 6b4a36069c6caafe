"""The short chaos run of CI: web workers and a scheduler killed with SIGKILL under load for a few seconds;
nothing acknowledged is lost, nothing doubled, every instance consistent (bench/chaos.py; `make chaos` runs
the long one)."""
from __future__ import annotations

import pytest

from bench import chaos

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # starts servers and schedulers


def test_kills_under_load_lose_and_double_nothing(database_url, tmp_path):
    result = chaos.run(database_url, tmp_path, seconds=15, clients=3, kill_every=2.5, workers=2, schedulers=2)
    assert result["kills"]["web"] + result["kills"]["scheduler"] >= 3
    assert result["acknowledged"] > 0, result
    assert result["ok"], result
