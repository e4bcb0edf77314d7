"""The state one ``apply`` run shares between its phases, named in one place.

The create workers (``workers.py``), the poll loop (``tracking.py``) and the
replacements (``replace.py``) run as tasks of one task group on one event loop; they
hand servers to each other through this state, never through locks: between two
``await``s each task has it to itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from bulkboot.engine.board import Board, Emit
from bulkboot.engine.compute_api import ComputeApi
from bulkboot.engine.journal import Journal
from bulkboot.engine.options import ApplyOptions
from bulkboot.engine.poll import Poller
from bulkboot.engine.state import ServerState
from bulkboot.engine.window import CreateWindow
from bulkboot.errors import AuthError, EndpointNotFound, MicroversionError
from bulkboot.pipeline.spec import ServerSpec

__all__ = ["FATAL", "RunState"]

# Errors that mean the run itself cannot go on (not one server's problem).
FATAL = (AuthError, EndpointNotFound, MicroversionError)


@dataclass(slots=True, kw_only=True, eq=False)
class RunState:
    """What the phases of one run share; mutable, owned by the run's event loop."""

    compute: ComputeApi
    fleet: str
    board: Board
    journal: Journal
    options: ApplyOptions
    clock: Callable[[], float]
    emit: Emit  # the one way to change a server's state (board, journal, sinks)
    poller: Poller
    window: CreateWindow
    # the create window's size; a retry's DELETE takes a token too
    limiter: anyio.CapacityLimiter
    rng: random.Random  # the poll jitter
    # what to send: the manifest's requests, and multi-create members once they exist
    specs: dict[str, ServerSpec]
    notes: list[str] = field(default_factory=list)
    # multi-create requests whose members are being discovered: name -> its state
    groups: dict[str, ServerState] = field(default_factory=dict)
    # when each of ``groups`` was known to be this run's (its answer came, or the plan
    # said so): only a round that began later can tell its members are all there
    groups_at: dict[str, float] = field(default_factory=dict)
    # seconds a create sent and never answered may still land (the cloud client's
    # request timeout): until then it is "possibly created", never sent again
    in_flight_window: float = 0.0
    # creates whose answer was lost and whose server had not shown up yet: never
    # re-sent; adopted from a poll round by exact name and fleet mark, or TIMEOUT
    unsure: set[str] = field(default_factory=set)
    # creates of an earlier run sent and never answered, within their window: name ->
    # the moment (``clock``) their window ends. Looked for by name and mark (members,
    # for a multi-create) until then; created once it has passed and they did not show
    possible: dict[str, float] = field(default_factory=dict)
    # every create this run sent whose answer did not say what became of it (in
    # flight, lost, answered without an id), and ``possible``: name -> the moment its
    # window ends. What an interrupted run's summary says may still appear.
    unanswered: dict[str, float] = field(default_factory=dict)
    # ids this run knows as the fleet's: listed at the start, created, adopted, found
    known_ids: set[str] = field(default_factory=set)
    # the cloud's clock when the run listed the fleet (the listing's ``Date``): a server
    # of the fleet created later that this run does not know is another writer's
    cloud_started: datetime | None = None
    other_writer: dict[str, str] = field(default_factory=dict)  # id -> name, as seen
    # every name the journal has a create of (an earlier run's): a server of one the
    # manifest no longer names, appearing during the run, is that create landing late
    earlier_creates: frozenset[str] = frozenset()
    earlier_landed: dict[str, str] = field(default_factory=dict)  # id -> name, as seen
    id_less_answers: int = 0  # single creates accepted with an answer naming no server
    # servers on their way out (a killed destroy): id -> the name to create once it is
    # gone; for a multi-create, the request's name once all its members are gone
    leaving: dict[str, str] = field(default_factory=dict)
    stopping: bool = False  # no new create is sent, nothing is requeued
    stopped: anyio.Event = field(default_factory=anyio.Event)  # set with ``stopping``
    wake: anyio.Event = field(default_factory=anyio.Event)  # the poll loop's: look now
    queue: MemoryObjectSendStream[str] | None = None  # names to create, for the workers
    tasks: TaskGroup | None = None  # where a replacement's DELETE runs
    deletes_in_flight: int = 0
    rounds: int = 0  # poll rounds made
    # names with a server found whose earlier create (unanswered, in its window) may
    # still land: a server of the name appearing then is not another writer's
    may_land: set[str] = field(default_factory=set)
    # servers deleted that are not their name's server on the board (a replacement's
    # old ones): id -> their name on the side board; the poll loop tells ``side_gone``
    side: dict[str, str] = field(default_factory=dict)
    side_gone: Callable[[str, float], None] | None = None
    side_overdue: Callable[[str, float], None] | None = None
    # names whose failed new server is being deleted, not to be created again
    discarding: set[str] = field(default_factory=set)
    # names replaced (--replace-changed): a rollback leaves them (their old one is gone)
    replaced: set[str] = field(default_factory=set)
    # name -> ids of its servers that its create did not make (a replacement's old
    # ones): never taken for the create's server after a lost answer
    exclude: dict[str, frozenset[str]] = field(default_factory=dict)

    def stop(self) -> None:
        """Send no new create and requeue nothing; abandon a wait for a ``--rate`` slot."""
        self.stopping = True
        self.stopped.set()
