"""bulkboot/simulator/__init__.py: the public API, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import bulkboot.simulator as simulator


def test_public_api() -> None:
    assert sorted(simulator.__all__) == [
        "ManualClock",
        "RunningSimulator",
        "SimConfig",
        "serve_simulator",
        "start_simulator",
    ]
    for name in simulator.__all__:
        assert getattr(simulator, name).__name__ == name


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nothing_here"):
        simulator.nothing_here  # noqa: B018


def test_the_knobs_import_without_aiohttp() -> None:
    # `bulkboot validate` and the simulator command's flags must not pay for aiohttp.
    code = "import sys, bulkboot.simulator.config; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
