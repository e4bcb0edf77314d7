"""An in-memory Keystone v3 + Nova (+ Glance and Neutron look-ups) on aiohttp.web, with faults.

    from bulkboot.simulator import SimConfig, start_simulator

    with start_simulator(SimConfig(build_time_mean=0.1)) as sim:
        sim.auth_url          # http://127.0.0.1:PORT/identity/v3
        sim.clouds_yaml()     # a clouds.yaml mapping with the cloud "simulator"
        sim.configure(error_fraction=0.5)
        sim.stats()           # GET /_sim/stats

The names are loaded lazily, so importing ``bulkboot.simulator.config`` (the knobs,
for flags) does not import aiohttp. See docs/simulator.md.

Nova's request rules exist twice in this repository, ON PURPOSE: do not deduplicate
them. ``bulkboot.pipeline.validate`` holds the client's own rules (what bulkboot
refuses before it sends anything); ``nova_schema`` (a transcription of nova 31.0.0's
request schemas) checked by ``schemacheck`` is the simulator playing Nova. The parity
tests check the client's bodies against that independent copy (and against
novaclient), and ``schemacheck`` against the ``jsonschema`` library: if both sides
imported one set of rules, a mistake in it would pass every test. Constants repeat for
the same reason (the tag length and count, the newest microversion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bulkboot.simulator.clock import ManualClock
    from bulkboot.simulator.config import SimConfig
    from bulkboot.simulator.server import RunningSimulator, serve_simulator, start_simulator

__all__ = ["ManualClock", "RunningSimulator", "SimConfig", "serve_simulator", "start_simulator"]


def __getattr__(name: str) -> Any:
    if name == "SimConfig":
        from bulkboot.simulator import config

        return config.SimConfig
    if name == "ManualClock":
        from bulkboot.simulator import clock

        return clock.ManualClock
    if name in ("RunningSimulator", "serve_simulator", "start_simulator"):
        from bulkboot.simulator import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
