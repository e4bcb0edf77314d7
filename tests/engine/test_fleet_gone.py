"""``fleet_servers`` hands back the journal's servers its look-ups found gone, so that
the command holding the lock journals them and no later command looks them up again."""

from __future__ import annotations

import pytest
from aiohttp import web

from bulkboot.cloud.client import open_cloud
from bulkboot.cloud.session import HttpOptions
from bulkboot.engine.fleet import fleet_servers
from bulkboot.engine.replay import JournalEntry
from tests.cloud.stubs import stub_config, stub_nova

pytestmark = pytest.mark.anyio

MARK = {"bulkboot:fleet": "lab"}


async def test_the_look_ups_say_which_servers_are_gone() -> None:
    looked: list[str] = []

    async def listing(request: web.Request) -> web.Response:
        marked = {"id": "kept", "name": "lab-1", "status": "ACTIVE", "metadata": MARK}
        return web.json_response({"servers": [marked]})

    async def one(request: web.Request) -> web.Response:
        server_id = request.match_info["id"]
        looked.append(server_id)
        if server_id == "soft":  # deleted, still shown for a while
            return web.json_response({"server": {"id": "soft", "status": "DELETED"}})
        if server_id == "unmarked":  # still there, but no longer the fleet's
            return web.json_response(
                {"server": {"id": "unmarked", "name": "lab-3", "status": "ACTIVE"}}
            )
        if server_id == "cell":  # listing missed it (a race): still the fleet's
            server = {"id": "cell", "name": "lab-4", "status": "ACTIVE", "metadata": MARK}
            return web.json_response({"server": server})
        return web.json_response({"itemNotFound": {"code": 404, "message": "gone"}}, status=404)

    journal = {
        "lab-1": JournalEntry(name="lab-1", ids=("kept", "old"), deleted=frozenset({"old"})),
        "lab-2": JournalEntry(name="lab-2", ids=("purged", "soft")),
        "lab-3": JournalEntry(name="lab-3", ids=("unmarked",)),
        "lab-4": JournalEntry(name="lab-4", ids=("cell",)),
        "twin": JournalEntry(name="twin", ids=("purged",)),  # one id under two names
    }
    routes = [("GET", "/servers/detail", listing), ("GET", "/servers/{id}", one)]
    gone: list[tuple[str, str]] = []
    async with stub_nova(routes) as url:
        async with open_cloud(stub_config(url), options=HttpOptions(concurrency=4)) as cloud:
            await cloud.compute.negotiate("auto")
            _, mine, notes = await fleet_servers(cloud.compute, "lab", journal, gone=gone)
    assert sorted(looked) == ["cell", "purged", "soft", "unmarked"]  # each id once
    assert sorted(gone) == [("lab-2", "purged"), ("lab-2", "soft"), ("twin", "purged")]
    assert sorted(r["id"] for r in mine) == ["cell", "kept"]
    assert len(notes) == 1 and "no longer marked" in notes[0]
