"""The per-server state machine: phases, the events that move them, one pure transition.

The engine never mutates a server's state in place: it builds an event, calls
``transition`` and keeps the new frozen ``ServerState``. Sinks (journal, live view,
plain lines, reports) see the same events and states, so what is shown, what is
journaled and what is reported cannot disagree.

``transition`` is total: an event that does not apply to the current phase (a late
status for a server already final, a second ``Created``) returns the *same object*,
so callers test ``new is old`` to know nothing happened and emit nothing.

    QUEUED ──CreateSent──► CREATING ──Created──► BUILDING ──StatusSeen(ACTIVE)──► ACTIVE
       ▲                      │                     │ ├──StatusSeen(ERROR)──► ERROR ──┐
       │                      └─CreateRefused─► ERROR │ ├──DeadlinePassed──► TIMEOUT    │
       │                                              │ └──Vanished──► GONE             │
       └────────────── Requeued ◄── DELETING ◄──DeleteSent─────────────────────────┘
                                        └──Deleted──► DELETED   (destroy, rollback)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal, NoReturn

__all__ = [
    "FINAL_PHASES",
    "CreateRefused",
    "CreateSent",
    "Created",
    "DeadlinePassed",
    "DeleteRefused",
    "DeleteSent",
    "Deleted",
    "Event",
    "Failure",
    "Found",
    "Phase",
    "Requeued",
    "ServerState",
    "StatusSeen",
    "Vanished",
    "is_quota_message",
    "transition",
]


class Phase(enum.Enum):
    """Where one server stands in this run (not Nova's status, which is kept beside it)."""

    QUEUED = "queued"  # not sent yet
    CREATING = "creating"  # POST /servers in flight
    BUILDING = "building"  # Nova accepted it; waiting for ACTIVE
    ACTIVE = "active"
    ERROR = "error"  # Nova's ERROR with its fault, or the create was refused
    TIMEOUT = "timeout"  # not ACTIVE by its deadline
    GONE = "gone"  # deleted behind our back
    DELETING = "deleting"  # DELETE sent (destroy, rollback, or a retry of an ERROR)
    DELETED = "deleted"

    # Members are singletons compared by identity; Enum's own __hash__ (a Python-level
    # hash of the name) costs more than the rest of a board update.
    __hash__ = object.__hash__


FINAL_PHASES = frozenset({Phase.ACTIVE, Phase.ERROR, Phase.TIMEOUT, Phase.GONE, Phase.DELETED})

Failure = Literal["fault", "quota", "refused", "timeout", "gone"]
"""Why a server failed: Nova's fault, the late quota recheck, a refused create, ..."""

_BUILDING_STATUSES = frozenset({"BUILD", "UNKNOWN", "REBUILD", "PASSWORD", "MIGRATING"})


def is_quota_message(message: str) -> bool:
    """Nova's quota faults say "Quota exceeded for instances: ..." (recheck, 403)."""
    return "quota" in message.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerState:
    """Everything the run knows about one server (or one multi-create request).

    Times are ``time.monotonic()`` seconds of this process; ``None`` means "not yet".
    ``attempt`` counts the creates sent for this name in this run (retries included),
    ``http_attempts`` the HTTP tries of the last one (429/503 retries inside the client),
    ``throttled`` how many of those were turned away (429/503). ``post_seconds`` runs
    from sending the last create to its answer; of it, ``post_wait_seconds`` was spent
    waiting in this client (back-off, ``Retry-After``, queueing) and
    ``post_answer_seconds`` is the answer time of the attempt that succeeded.
    """

    name: str
    group: str = ""
    phase: Phase = Phase.QUEUED
    status: str | None = None  # Nova's status as last seen
    server_id: str | None = None
    attempt: int = 0
    http_attempts: int = 0
    throttled: int = 0
    existed: bool = False  # found in the cloud at the start, not created by this run
    sent_at: float | None = None
    post_seconds: float | None = None  # POST /servers latency of the last create
    post_wait_seconds: float | None = None  # ... of which waited by this client
    post_answer_seconds: float | None = None  # ... the answer time of the attempt that took
    active_seconds: float | None = None  # from sending the create to seeing ACTIVE
    finished_at: float | None = None
    message: str | None = None  # Nova's fault message, or the refusal
    failure: Failure | None = None

    @property
    def final(self) -> bool:
        return self.phase in FINAL_PHASES

    @property
    def failed(self) -> bool:
        """Did this server fail in this run (or was found failed)? True whatever its phase
        now: a failed server deleted by ``--rollback-on-failure`` is DELETED and keeps its
        ``failure`` and ``message``, so summaries still say what went wrong."""
        return self.failure is not None


_SLOTS: tuple[str, ...] = ServerState.__slots__


# ------------------------------------------------------------------------ events

# Events are occurrences, told apart by identity: no generated ``__eq__``/``__hash__``
# (two fewer functions compiled per class at every start of the command).


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Found:
    """The server already existed in the cloud (with the fleet mark) when the run began."""

    name: str
    at: float
    server_id: str
    status: str
    fault: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CreateSent:
    """Recorded (and journaled) before the POST leaves."""

    name: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Created:
    """Nova accepted the create (202), or the client found it after a lost response.

    ``throttled``, ``post_wait_seconds`` and ``post_answer_seconds``: the request's own
    account of its time (``RequestTiming``), when the client gave one.
    """

    name: str
    at: float
    server_id: str | None  # None for a multi-create answered with a reservation id
    post_seconds: float
    http_attempts: int
    throttled: int = 0
    post_wait_seconds: float | None = None
    post_answer_seconds: float | None = None
    # True when no answer said what became of it (lost, or a 202 without a server id):
    # the server may exist or appear later, and is looked for by its name and mark
    uncertain: bool = False


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CreateRefused:
    """The create failed for good (400, 403, 409, retries exhausted)."""

    name: str
    at: float
    message: str
    quota: bool = False


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class StatusSeen:
    """A poll saw the server with this status (and its fault message on ERROR)."""

    name: str
    at: float
    server_id: str
    status: str
    fault: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DeadlinePassed:
    name: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Vanished:
    """The server we were waiting for is no longer listed (deleted by someone else)."""

    name: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DeleteSent:
    name: str
    at: float
    server_id: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DeleteRefused:
    """The cloud refused to delete the server (locked, policy, ...)."""

    name: str
    at: float
    message: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Deleted:
    """The server is gone after our DELETE (404, or no longer listed)."""

    name: str
    at: float
    server_id: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Requeued:
    """A failed server was deleted and will be created again (``--retry-errors``)."""

    name: str
    at: float


Event = (
    Found
    | CreateSent
    | Created
    | CreateRefused
    | StatusSeen
    | DeadlinePassed
    | Vanished
    | DeleteSent
    | DeleteRefused
    | Deleted
    | Requeued
)


# -------------------------------------------------------------------- transitions

_new = object.__new__
_set = object.__setattr__


def replace(state: ServerState, **changes: object) -> ServerState:
    """``dataclasses.replace`` for ``ServerState``, at half the cost (it runs three times
    per server): copy every slot, taking the changed ones from ``changes``."""
    new = _new(ServerState)
    for name in _SLOTS:
        _set(new, name, changes[name] if name in changes else getattr(state, name))
    return new


def _seen(state: ServerState, event: StatusSeen) -> ServerState:
    status = event.status.upper()
    if status == "ACTIVE":
        return replace(
            state,
            phase=Phase.ACTIVE,
            status=status,
            server_id=event.server_id,
            active_seconds=None if state.sent_at is None else event.at - state.sent_at,
            finished_at=event.at,
            message=None,
            failure=None,
        )
    if status == "ERROR":
        message = event.fault or "the server went to ERROR without a fault message"
        return replace(
            state,
            phase=Phase.ERROR,
            status=status,
            server_id=event.server_id,
            finished_at=event.at,
            message=message,
            failure="quota" if is_quota_message(message) else "fault",
        )
    if status in ("DELETED", "SOFT_DELETED"):
        return replace(
            state,
            phase=Phase.GONE,
            status=status,
            finished_at=event.at,
            message=f"the server was deleted while building (status {status})",
            failure="gone",
        )
    if status == state.status and event.server_id == state.server_id:
        return state
    # BUILD, or UNKNOWN from a down cell (2.69+): keep waiting.
    return replace(state, phase=Phase.BUILDING, status=status, server_id=event.server_id)


def transition(state: ServerState, event: Event) -> ServerState:
    """The next state after ``event``; ``state`` itself when the event does not apply."""
    phase = state.phase
    match event:
        case StatusSeen():
            if phase is not Phase.BUILDING:
                return state
            return _seen(state, event)
        case CreateSent():
            if phase is not Phase.QUEUED:
                return state
            return replace(
                state,
                phase=Phase.CREATING,
                attempt=state.attempt + 1,
                sent_at=event.at,
                status=None,
                server_id=None,
                http_attempts=0,
                throttled=0,
                post_seconds=None,
                post_wait_seconds=None,
                post_answer_seconds=None,
                active_seconds=None,
                finished_at=None,
                message=None,
                failure=None,
            )
        case Created():
            if phase is not Phase.CREATING:
                return state
            return replace(
                state,
                phase=Phase.BUILDING,
                status="BUILD",
                server_id=event.server_id,
                post_seconds=event.post_seconds,
                http_attempts=event.http_attempts,
                throttled=event.throttled,
                post_wait_seconds=event.post_wait_seconds,
                post_answer_seconds=event.post_answer_seconds,
            )
        case CreateRefused():
            if phase is not Phase.CREATING:
                return state
            return replace(
                state,
                phase=Phase.ERROR,
                finished_at=event.at,
                message=event.message,
                failure="quota" if event.quota else "refused",
            )
        case Found():
            if phase is not Phase.QUEUED:
                return state
            found = replace(
                state, existed=True, phase=Phase.BUILDING, server_id=event.server_id, status=None
            )
            seen = _seen(
                found,
                StatusSeen(
                    name=event.name,
                    at=event.at,
                    server_id=event.server_id,
                    status=event.status,
                    fault=event.fault,
                ),
            )
            return seen if seen is not found else replace(found, status=event.status.upper())
        case DeadlinePassed():
            if phase not in (Phase.BUILDING, Phase.CREATING, Phase.DELETING):
                return state
            goal = "gone" if phase is Phase.DELETING else "ACTIVE"
            return replace(
                state,
                phase=Phase.TIMEOUT,
                finished_at=event.at,
                message=f"not {goal} by the deadline (last status {state.status or 'unknown'})",
                failure="timeout",
            )
        case Vanished():
            if phase is not Phase.BUILDING:
                return state
            return replace(
                state,
                phase=Phase.GONE,
                finished_at=event.at,
                message="the server disappeared while building",
                failure="gone",
            )
        case DeleteSent():
            if phase in (Phase.DELETING, Phase.DELETED, Phase.CREATING):
                return state
            if phase is Phase.QUEUED and state.server_id is None:
                return state  # nothing to delete yet
            return replace(state, phase=Phase.DELETING, server_id=event.server_id)
        case DeleteRefused():
            if phase is not Phase.DELETING:
                return state
            return replace(
                state,
                phase=Phase.ERROR,
                finished_at=event.at,
                message=f"delete refused: {event.message}",
                failure="refused",
            )
        case Deleted():
            if phase is not Phase.DELETING:
                return state
            return replace(state, phase=Phase.DELETED, status="DELETED", finished_at=event.at)
        case Requeued():
            if phase is not Phase.DELETED:
                return state
            return replace(
                state,
                phase=Phase.QUEUED,
                server_id=None,
                status=None,
                existed=False,
                finished_at=None,
            )
        case _:
            assert_never(event)


def assert_never(value: NoReturn) -> NoReturn:
    """``typing.assert_never``, which Python 3.10 lacks: mypy fails where an ``Event``
    is left unhandled in ``transition``; reached at run time, it is a bug."""
    raise AssertionError(f"Expected code to be unreachable, but got: {value!r}")
