"""destroy's choice of servers (the runs themselves are in test_apply.py, over sockets)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bulkboot.engine.fleet import fleet_servers
from bulkboot.engine.replay import JournalEntry
from bulkboot.engine.status import status_rows
from bulkboot.errors import NotFound
from bulkboot.pipeline.manifest import load_manifest
from tests.engine.fleet_helpers import write_manifest

pytestmark = pytest.mark.anyio

MARK = {"bulkboot:fleet": "lab"}


class Listing:
    """A cloud that answers one listing (down-cell partial records are not something
    the simulator makes; the selection is what is tested here)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.looked_up: list[str] = []

    async def list_servers(
        self, filters: Mapping[str, str] | None = None, *, detail: bool = True
    ) -> list[dict[str, Any]]:
        return [dict(r) for r in self.records]

    async def get_server(self, server_id: str) -> dict[str, Any]:
        self.looked_up.append(server_id)
        raise NotFound(f"server {server_id}")


async def test_partial_records_the_journal_says_are_ours_are_claimed(tmp_path: Path) -> None:
    compute = Listing(
        [
            {"id": "a1", "name": "lab-0001", "status": "ACTIVE", "metadata": MARK},
            {"id": "b2", "status": "UNKNOWN"},  # a down cell: ours by the journal
            {"id": "c3", "status": "UNKNOWN"},  # a down cell: not ours
            {"id": "d4", "name": "x", "status": "ACTIVE", "metadata": {"bulkboot:fleet": "x"}},
        ]
    )
    journal = {
        "lab-0001": JournalEntry(name="lab-0001", ids=("a1",), sent=1),
        "lab-0002": JournalEntry(name="lab-0002", ids=("b2",), sent=1),
    }
    _, mine, notes = await fleet_servers(compute, "lab", journal)  # type: ignore[arg-type]
    assert [(r["id"], r["name"]) for r in mine] == [("a1", "lab-0001"), ("b2", "lab-0002")]
    assert compute.looked_up == []  # listed, so not looked up (and not skipped)
    assert any("lab-0002" in note and "cell" in note for note in notes)
    # status shows it as the cloud lists it, not as MISSING
    manifest = load_manifest(write_manifest(tmp_path, name="lab", count=2))
    rows = {row.name: row.status for row in status_rows(manifest, mine, journal)}
    assert rows == {"lab-0001": "ACTIVE", "lab-0002": "UNKNOWN"}


async def test_without_a_journal_a_partial_record_is_never_claimed() -> None:
    compute = Listing([{"id": "b2", "status": "UNKNOWN"}])
    _, mine, notes = await fleet_servers(compute, "lab", {})  # type: ignore[arg-type]
    assert mine == [] and notes == []


async def test_journal_ids_the_listing_lacks_are_looked_up_at_once() -> None:
    """Servers deleted behind the journal's back are looked for on every status and
    destroy: all at once over real sockets (bounded by the client), not one by one."""
    import anyio
    from aiohttp import web

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.session import HttpOptions
    from tests.cloud.stubs import stub_config, stub_nova

    in_flight = peak = 0

    async def listing(request: web.Request) -> web.Response:
        marked = {"id": "kept", "name": "lab-0001", "status": "ACTIVE", "metadata": MARK}
        return web.json_response({"servers": [marked]})

    async def one(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.05)
        in_flight -= 1
        server_id = request.match_info["id"]
        if server_id == "moved":  # still there, and still ours
            server = {"id": "moved", "name": "lab-0003", "status": "ACTIVE", "metadata": MARK}
            return web.json_response({"server": server})
        return web.json_response({"itemNotFound": {"code": 404, "message": "gone"}}, status=404)

    gone = [f"gone-{i}" for i in range(12)]
    journal = {
        "lab-0001": JournalEntry(name="lab-0001", ids=("kept",)),
        "lab-0002": JournalEntry(name="lab-0002", ids=tuple(gone)),
        "lab-0003": JournalEntry(name="lab-0003", ids=("moved",)),
    }
    routes = [("GET", "/servers/detail", listing), ("GET", "/servers/{id}", one)]
    async with stub_nova(routes) as url:
        async with open_cloud(stub_config(url), options=HttpOptions(concurrency=8)) as cloud:
            await cloud.compute.negotiate("auto")
            _, mine, notes = await fleet_servers(cloud.compute, "lab", journal)
    assert sorted(r["id"] for r in mine) == ["kept", "moved"]
    assert notes == []
    assert peak == 8  # as many as the client allows, not one at a time


async def test_a_failed_lookup_of_a_journal_id_is_one_plain_error() -> None:
    """Not an ExceptionGroup from the lookers: the caller sees Nova's own error."""
    from aiohttp import web

    from bulkboot.cloud.client import open_cloud
    from bulkboot.cloud.retry import RetryPolicy
    from bulkboot.cloud.session import HttpOptions
    from bulkboot.errors import ServerError
    from tests.cloud.stubs import stub_config, stub_nova

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"servers": []})

    async def one(request: web.Request) -> web.Response:
        body = {"computeFault": {"code": 500, "message": "the cell is down"}}
        return web.json_response(body, status=500)

    journal = {"lab-0001": JournalEntry(name="lab-0001", ids=("a", "b", "c"))}
    routes = [("GET", "/servers/detail", listing), ("GET", "/servers/{id}", one)]
    options = HttpOptions(retry=RetryPolicy(max_attempts=1))
    async with stub_nova(routes) as url:
        async with open_cloud(stub_config(url), options=options) as cloud:
            await cloud.compute.negotiate("auto")
            with pytest.raises(ServerError, match="the cell is down"):
                await fleet_servers(cloud.compute, "lab", journal)
