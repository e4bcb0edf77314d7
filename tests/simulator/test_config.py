"""bulkboot/simulator/config.py: the knobs validate themselves; the fixtures hold."""

from __future__ import annotations

import pytest

from bulkboot.simulator.config import FLAVORS, IMAGES, NETWORKS, SimConfig, changed


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
        ({"max_microversion": "2.200"}, "max_microversion must be 2.104 at most"),
        ({"max_microversion": "2.105"}, "max_microversion must be 2.104 at most"),
        ({"max_microversion": "3.0"}, "max_microversion must be a compute microversion 2.N"),
        ({"min_microversion": "2.01"}, "min_microversion must be a compute microversion"),
        ({"min_microversion": "2.0"}, "min_microversion must be 2.1 or more"),
        ({"min_microversion": "2.60", "max_microversion": "2.10"}, "must not exceed"),
        ({"latency": "1"}, "latency must be a number, not '1'"),
        ({"jitter": False}, "jitter must be a number, not False"),
        ({"seed": 1.5}, "seed must be a whole number, not 1.5"),
        ({"rate_limit": "5"}, "rate_limit must be a number or None"),
        ({"rate_limit_retry_after": 1}, "rate_limit_retry_after must be true or false, not 1"),
        ({"unavailable_retry_after": 1.5}, "unavailable_retry_after must be a whole number"),
        ({"max_limit": 0}, "max_limit must be from 1 to 1000000, not 0"),
        ({"max_limit": 100.0}, "max_limit must be a whole number, not 100.0"),
    ],
)
def test_bad_values_are_refused(changes: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        SimConfig(**changes)  # type: ignore[arg-type]


def test_a_float_knob_takes_a_whole_number() -> None:
    assert SimConfig(latency=2, rate_limit=5).latency == 2


def test_changed_checks_as_a_new_config_does() -> None:
    config = SimConfig()
    assert changed(config, {"latency": 0.5}) == SimConfig(latency=0.5)
    assert changed(config, {}) == config
    with pytest.raises(ValueError, match="latency must not be negative"):
        changed(config, {"latency": -1.0})
    with pytest.raises(TypeError, match="no such SimConfig field: bogus, nope"):
        changed(config, {"nope": 1, "bogus": 2})


def test_defaults_are_a_healthy_cloud() -> None:
    config = SimConfig()
    fractions = [getattr(config, name) for name in dir(config) if name.endswith("_fraction")]
    assert fractions and all(value == 0.0 for value in fractions)
    assert config.rate_limit is None
    assert (config.quota_instances, config.quota_cores, config.quota_ram) == (200_000, None, None)
    assert (config.min_microversion, config.max_microversion) == ("2.1", "2.104")
    assert config.max_limit == 1000  # Nova's [api]max_limit


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
