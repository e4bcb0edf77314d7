"""Create bodies and requests for the cloud-client tests (the simulator's image and flavor)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bulkboot.cloud.compute import CreateRequest
from bulkboot.simulator.config import FLAVORS, IMAGES


def body(name: str, *, fleet: str = "f", **extra: object) -> dict[str, object]:
    server: dict[str, object] = {
        "name": name,
        "imageRef": IMAGES[0].id,
        "flavorRef": FLAVORS[0].id,
        "networks": "none",
        "metadata": {"bulkboot:fleet": fleet},
    }
    server.update(extra)
    return {"server": server}


def request(wire: Mapping[str, Any], *, fleet: str) -> CreateRequest:
    """The request for a body written by hand: what the engine tells the client."""
    server = wire["server"]
    secret = server.get("adminPass")
    return CreateRequest(
        body=wire,
        name=str(server["name"]),
        instance_count=int(server.get("max_count") or server.get("min_count") or 1),
        fleet=fleet,
        secrets=(str(secret),) if secret else (),
    )
