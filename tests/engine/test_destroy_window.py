"""``destroy`` backs off as ``apply`` does: fewer DELETEs in flight while the API is
turned away or queueing (their answers slow down: a 429's ``Retry-After`` is waited
inside the client), on virtual time with an in-process cloud."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bulkboot.engine.board import Board
from bulkboot.engine.destroy import destroy_fleet
from bulkboot.engine.journal import Journal
from bulkboot.engine.options import DestroyOptions
from bulkboot.engine.state import Phase
from bulkboot.identity import FLEET_MARK_KEY
from tests.engine.fake_nova import FakeNova
from tests.engine.fleet_helpers import FAST, header
from tests.engine.virtual_time import VIRTUAL_TIME

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    return VIRTUAL_TIME


class CrowdedNova(FakeNova):
    """Deletes answered 20 a second at most: each waits its turn, as a DELETE turned
    away by a rate limit waits out ``Retry-After`` in the client before it gets in."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.in_flight_seen: list[int] = []  # at each DELETE's arrival
        self._next_slot = 0.0

    async def delete_server(self, server_id: str) -> bool:
        self.in_flight_seen.append(self.in_flight)
        self.in_flight += 1
        now = anyio.current_time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1 / 20
        await anyio.sleep(slot - now + 0.01)
        self.in_flight -= 1
        return await super().delete_server(server_id)


async def test_deletes_in_flight_shrink_while_the_api_makes_them_wait(tmp_path: Path) -> None:
    nova = CrowdedNova()
    for index in range(1, 401):
        nova.servers[f"id-{index}"] = {
            "id": f"id-{index}",
            "name": f"lab-{index}",
            "metadata": {FLEET_MARK_KEY: "lab"},
        }
        nova._ready_at[f"id-{index}"] = 0.0
    board = Board(header=header("fake", "destroy"), started_at=anyio.current_time())
    with Journal.open(tmp_path / "lab.jsonl") as journal:
        outcome = await destroy_fleet(
            nova,
            "lab",
            board=board,
            journal=journal,
            entries={},
            options=DestroyOptions(concurrency=100, pacing=FAST, seed=1),
            clock=anyio.current_time,
            in_flight_window=0.0,  # no journal: no create of an earlier run to wait for
        )
    assert all(s.phase is Phase.DELETED for s in outcome.states) and len(outcome.states) == 400
    # the first hundred go out together; once their answers slow down, far fewer
    assert max(nova.in_flight_seen[:100]) == 99
    assert max(nova.in_flight_seen[300:]) <= 75
