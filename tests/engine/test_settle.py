"""``apply`` and ``destroy`` hold ``changes-since`` back as ``load`` does (``poll.SETTLE``):
on real Nova a change stamped before a listing but committed after it is listed by no
later ``changes-since`` round once ``since`` has moved past its second, and was seen
only by the next full listing, up to a minute late. On virtual time, with an in-process
Nova whose commits can come late."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest

from bulkboot.engine.board import Board
from bulkboot.engine.destroy import destroy_fleet
from bulkboot.engine.journal import Journal
from bulkboot.engine.options import DestroyOptions
from bulkboot.engine.state import Phase
from bulkboot.identity import FLEET_MARK_KEY
from tests.engine.fake_nova import FakeNova, apply_on_fake
from tests.engine.fleet_helpers import FAST, header, write_manifest
from tests.engine.virtual_time import VIRTUAL_TIME

pytestmark = pytest.mark.anyio
BASE = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return VIRTUAL_TIME


class LateNova(FakeNova):
    """Nova's ``changes-since`` over changes stamped (``updated``, whole seconds) when
    made but visible to listings only ``late`` seconds later, per server name; a
    server's build takes ``build`` seconds, per name. Counts the full listings."""

    def __init__(self, *, build: Mapping[str, float], late: Mapping[str, float]) -> None:
        super().__init__()
        self.build = build
        self.late = late
        self.start = anyio.current_time()
        # id -> its versions: (visible from, record)
        self.versions: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.full_listings = 0
        self.fleet = ""

    def _stamp(self, at: float) -> str:
        seconds = int(at - self.start)
        return (BASE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _change(self, server_id: str, name: str, status: str, at: float) -> None:
        """A change made at ``at`` (stamped then), showing ``late`` seconds after."""
        record = self._record(server_id, name, status, at)
        self.versions.setdefault(server_id, []).append((at + self.late.get(name, 0.0), record))

    def add(self, server_id: str, name: str, fleet: str) -> None:
        self.fleet = fleet
        self._change(server_id, name, "ACTIVE", anyio.current_time() - 10.0)

    async def create_server(self, request: Any) -> Any:
        self.fleet = request.fleet
        created = await super().create_server(request)
        now = anyio.current_time()
        self.versions[created.id] = [
            (now, self._record(created.id, request.name, "BUILD", now)),
        ]
        self._change(created.id, request.name, "ACTIVE", now + self.build.get(request.name, 0.2))
        return created

    def _record(self, server_id: str, name: str, status: str, at: float) -> dict[str, Any]:
        return {
            "id": server_id,
            "name": name,
            "status": status,
            "updated": self._stamp(at),
            "metadata": {FLEET_MARK_KEY: self.fleet},
        }

    async def list_servers(
        self, filters: Mapping[str, str] | None = None, *, detail: bool = True
    ) -> list[dict[str, Any]]:
        since = (filters or {}).get("changes-since")
        if since is None:
            self.full_listings += 1
        now = anyio.current_time()
        listed = []
        for versions in self.versions.values():
            seen = [record for visible, record in versions if visible <= now]
            if not seen:
                continue
            record = seen[-1]  # the latest change made that shows
            if since is None and record["status"] == "DELETED":
                continue
            if since is None or record["updated"] >= since:
                listed.append(dict(record))
        return listed

    async def delete_server(self, server_id: str) -> bool:
        versions = self.versions.get(server_id)
        if not versions:
            return False
        name = versions[0][1]["name"]
        # deleted a moment later: the later a name sorts, the later its stamp
        at = anyio.current_time() + (1.2 if name.endswith("2") else 0.1)
        self._change(server_id, name, "DELETED", at)
        return True


async def test_apply_sees_an_active_committed_after_a_newer_change(tmp_path: Path) -> None:
    # late-0001 is ACTIVE at 0.3 s (stamped 10:00:00) but its save shows only at 2.3 s,
    # after a round listed late-0002's ACTIVE of 10:00:01
    nova = LateNova(build={"late-0001": 0.3, "late-0002": 1.2}, late={"late-0001": 2.0})
    path = write_manifest(tmp_path, name="late", count=2)
    began = anyio.current_time()
    outcome = await apply_on_fake(nova, path, concurrency=2, timeout=600.0)
    assert outcome.ok, [(s.name, s.phase) for s in outcome.states]
    # seen by a changes-since round, not by the full listing a minute later
    # the inventory's, and the first round's (an empty listing gives no ``since``)
    assert nova.full_listings == 2
    assert anyio.current_time() - began < 30.0


async def test_destroy_sees_a_deletion_committed_after_a_newer_one(tmp_path: Path) -> None:
    # gone-1's deletion is stamped first but shows 3 s later, after a round has listed
    # gone-2's, stamped a second later
    nova = LateNova(build={}, late={"gone-1": 3.0})
    nova.add("id-a", "gone-1", "lab")
    nova.add("id-b", "gone-2", "lab")
    board = Board(header=header("fake", "destroy"), started_at=anyio.current_time())
    with Journal.open(tmp_path / "lab.jsonl") as journal:
        outcome = await destroy_fleet(
            nova,
            "lab",
            board=board,
            journal=journal,
            entries={},
            options=DestroyOptions(concurrency=2, pacing=FAST, seed=1, timeout=600.0),
            clock=anyio.current_time,
            in_flight_window=0.0,
        )
    assert all(s.phase is Phase.DELETED for s in outcome.states) and len(outcome.states) == 2
    # the first listing and the last one (the fleet is gone): none in between
    assert nova.full_listings == 2
