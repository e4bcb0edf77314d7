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
        ({"quota_cores": -1}, "quota_cores must be from 0 to 2147483647"),
        ({"token_lifetime": 0.0}, "token_lifetime must be positive"),
        ({"error_fraction": 0.6, "never_finish_fraction": 0.5}, "add up to 1 at most"),
        ({"rate_limit": float("nan")}, "rate_limit must be a finite number, not nan"),
        ({"rate_limit": float("inf")}, "rate_limit must be a finite number, not inf"),
        ({"build_time_mean": float("inf")}, "build_time_mean must be a finite number"),
        ({"error_fraction": float("nan")}, "error_fraction must be a finite number"),
        ({"latency": 86_401.0}, "latency must be 86400 seconds"),
        ({"token_lifetime": 1e300}, "token_lifetime must be positive and 31622400"),
        ({"unavailable_retry_after": 10**9}, "unavailable_retry_after must be from 0"),
        ({"quota_instances": None}, "quota_instances must be from 0 to 1000000"),
        ({"quota_instances": 1_000_001}, "quota_instances must be from 0 to 1000000"),
        ({"quota_ram": 2**31}, "quota_ram must be from 0 to 2147483647"),
        ({"max_microversion": "2.200"}, "max_microversion must be 2.96 at most"),
        ({"max_microversion": "2.97"}, "max_microversion must be 2.96 at most"),
        ({"max_microversion": "3.0"}, "max_microversion must be a compute microversion 2.N"),
        ({"min_microversion": "2.01"}, "min_microversion must be a compute microversion"),
        ({"min_microversion": "2.0"}, "min_microversion must be 2.1 or more"),
        ({"min_microversion": "2.60", "max_microversion": "2.10"}, "must not exceed"),
    ],
)
def test_bad_values_are_refused(changes: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SimConfig(**changes)  # type: ignore[arg-type]


def test_defaults_are_a_healthy_cloud() -> None:
    config = SimConfig()
    fractions = [getattr(config, name) for name in dir(config) if name.endswith("_fraction")]
    assert fractions and all(value == 0.0 for value in fractions)
    assert config.rate_limit is None
    assert (config.quota_instances, config.quota_cores, config.quota_ram) == (200_000, None, None)
    assert (config.min_microversion, config.max_microversion) == ("2.1", "2.96")


def test_the_widest_settings_still_hold() -> None:
    SimConfig(
        max_microversion="2.96",
        min_microversion="2.96",
        quota_instances=1_000_000,
        quota_ram=2**31 - 1,
        latency=86_400.0,
        rate_limit=1e9,
        token_lifetime=366 * 86_400.0,
    )


def test_fixture_ids_are_unique_and_names_deliberately_duplicated() -> None:
    for fixtures in (FLAVORS, IMAGES, NETWORKS):
        ids = [f.id for f in fixtures]
        assert len(ids) == len(set(ids))
    assert [i.name for i in IMAGES].count("dup-image") == 2
    assert [n.name for n in NETWORKS].count("dup-net") == 2
