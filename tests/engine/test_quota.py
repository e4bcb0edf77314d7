"""The up-front quota check."""

from __future__ import annotations

import pytest

from bulkboot.engine.quota import Need, check_quota, shortfalls, total_need
from bulkboot.errors import QuotaCheckError

LIMITS = {
    "maxTotalInstances": 10,
    "totalInstancesUsed": 4,
    "maxTotalCores": 20,
    "totalCoresUsed": 8,
    "maxTotalRAMSize": 51200,
    "totalRAMUsed": 2048,
}


def test_need_sums_count_times_flavor() -> None:
    need = total_need([(3, {"vcpus": 2, "ram": 4096}), (1, {"vcpus": 1, "ram": 512}), (2, None)])
    assert need == Need(instances=6, cores=7, ram=12800)


def test_fits_exactly() -> None:
    assert shortfalls(Need(instances=6, cores=12, ram=49152), LIMITS) == []


def test_every_short_resource_is_named() -> None:
    with pytest.raises(QuotaCheckError) as info:
        check_quota(Need(instances=7, cores=13, ram=1), LIMITS, fleet="lab")
    message = str(info.value)
    assert "instances: the fleet needs 7, 6 left (limit 10, used 4)" in message
    assert "cores: the fleet needs 13, 12 left (limit 20, used 8)" in message
    assert "RAM" not in message
    assert "--skip-quota-check" in message


def test_unlimited_is_minus_one() -> None:
    assert shortfalls(Need(instances=10**6), {"maxTotalInstances": -1}) == []


@pytest.mark.parametrize(
    "odd",
    [
        {"maxTotalInstances": "10", "totalInstancesUsed": 4},
        {"maxTotalInstances": 10, "totalInstancesUsed": "4"},
        {"maxTotalInstances": 10, "totalInstancesUsed": None},
        {"maxTotalInstances": True},
        {"maxTotalInstances": 10.5},
    ],
)
def test_a_limit_that_is_not_a_whole_number_is_not_checked(odd: dict[str, object]) -> None:
    # not Nova's shape: left to Nova's own check of each create, never a crash
    assert shortfalls(Need(instances=10**6), odd) == []  # type: ignore[arg-type]


def test_whole_numbers_next_to_odd_ones_are_still_checked() -> None:
    limits = {"maxTotalInstances": 10, "totalInstancesUsed": 4, "maxTotalCores": "x"}
    assert shortfalls(Need(instances=7, cores=10**6), limits) == [  # type: ignore[arg-type]
        "instances: the fleet needs 7, 6 left (limit 10, used 4)"
    ]
