"""bulkboot/simulator/config.py: the knobs validate themselves; the fixtures hold."""

from __future__ import annotations

import pytest

from bulkboot.simulator.config import FLAVORS, IMAGES, NETWORKS, SimConfig


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"error_fraction": 1.5}, "error_fraction must be between 0 and 1"),
        ({"lost_response_fraction": -0.1}, "lost_response_fraction"),
        ({"latency": -1.0}, "latency must not be negative"),
        ({"rate_limit": 0.0}, "rate_limit must be positive"),
        ({"quota_cores": -1}, "quota_cores must not be negative"),
        ({"token_lifetime": 0.0}, "token_lifetime must be positive"),
        ({"error_fraction": 0.6, "never_finish_fraction": 0.5}, "add up to 1 at most"),
    ],
)
def test_bad_values_are_refused(changes: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SimConfig(**changes)  # type: ignore[arg-type]


def test_defaults_are_a_healthy_cloud() -> None:
    config = SimConfig()
    fractions = [getattr(config, name) for name in dir(config) if name.endswith("_fraction")]
    assert fractions and all(value == 0.0 for value in fractions)
    assert config.rate_limit is None
    assert (config.quota_instances, config.quota_cores, config.quota_ram) == (None, None, None)


def test_fixture_ids_are_unique_and_names_deliberately_duplicated() -> None:
    for fixtures in (FLAVORS, IMAGES, NETWORKS):
        ids = [f.id for f in fixtures]
        assert len(ids) == len(set(ids))
    assert [i.name for i in IMAGES].count("dup-image") == 2
    assert [n.name for n in NETWORKS].count("dup-net") == 2
