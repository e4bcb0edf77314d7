"""Rolling replacement (``apply --replace-changed``): each changed server made anew, a few
of a group at a time.

A replacement of name N (``diff.Replacement``) ends with one server of N, at the plan,
and its old servers gone:

- create first (the default): N is created as any server (a second server of the name
  for a while: Nova's names are not unique; the new one carries the new spec mark, and
  the old ones' ids are excluded from the look-up after a lost answer); once it is
  ACTIVE, the old ones are deleted. A new server that ends in ERROR (or past its
  deadline, or gone) is deleted and the old one stays: the replacement failed, the
  server it was to replace is still serving;
- delete first (``--replace-order delete-first``, or a port or fixed IP that two
  servers cannot hold): the old ones are deleted, and N is created once they are gone;
- settled (an earlier run was stopped after creating N anew): only the old ones'
  deletion is left, once N is ACTIVE.

At most ``--max-unavailable`` of a group's servers are being replaced at once (one by
default, or a percentage of the group): with delete-first that many are down; with
create-first that many extra servers exist (and count against the quota). A failed
replacement stops its group: the replacements not begun are held (their servers kept
as they are, reported), since a spec that fails once would most likely fail again,
and with delete-first take the group down one server at a time.

Every step goes through the run's usual paths, so each is journaled before it is sent
(``sent``, ``delete``) and a SIGKILL at any point leaves what the next ``apply``
finishes (``inventory``: an old server beside one at the plan is a settled
replacement; an old one on its way out is waited out; a create unanswered in its
window is waited for, never sent twice). The old servers are not the name's server on
the board (the new one is): they live on a board of their own (``side``), whose events
are journaled and shown like the others.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bulkboot.engine.board import Board, Emit
from bulkboot.engine.compute_api import refusal
from bulkboot.engine.diff import Replacement
from bulkboot.engine.options import MaxUnavailable
from bulkboot.engine.replace import discard, retries
from bulkboot.engine.run_state import FATAL, RunState
from bulkboot.engine.state import (
    DeadlinePassed,
    Deleted,
    DeleteRefused,
    DeleteSent,
    Event,
    Found,
    Phase,
    ServerState,
)
from bulkboot.errors import CloudError

__all__ = ["Rollout", "RolloutOutcome", "side_keys"]


class Stage(enum.Enum):
    WAITING = "waiting"  # for its turn in its group
    DELETING_OLD = "deleting old"  # delete-first: the old ones first
    CREATING = "creating"  # the new server (or, settled, waiting for it to be ACTIVE)
    RETIRING = "retiring"  # create-first: the new one is ACTIVE, the old ones go
    DONE = "done"
    FAILED = "failed"
    HELD = "held"  # not begun: its group had a failure


@dataclass(slots=True, eq=False)
class _Item:
    replacement: Replacement
    keys: dict[str, str]  # old id -> its name on the side board
    left: set[str]  # old ids not gone yet
    stage: Stage = Stage.WAITING


@dataclass(slots=True, eq=False)
class _Group:
    limit: int
    waiting: deque[str] = field(default_factory=deque)
    active: set[str] = field(default_factory=set)
    halted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutOutcome:
    """``replaced``: names now at the plan, their old servers gone; ``failed``: (name,
    why) (create-first: the old server kept); ``held``: not begun after a failure in
    their group; ``unfinished``: not finished when the run stopped."""

    replaced: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    held: tuple[str, ...] = ()
    unfinished: tuple[str, ...] = ()


def side_keys(targets: Iterable[tuple[str, str]], taken: Mapping[str, object]) -> list[str]:
    """Names on the side board for (name, id) pairs: the name, or ``name (id8)`` where it
    is used already (two old servers of one name, or a name taken before)."""
    used = set(taken)
    keys = []
    for name, server_id in targets:
        key = name if name not in used else f"{name} ({server_id[:8]})"
        used.add(key)
        keys.append(key)
    return keys


class Rollout:
    """The replacements of one run; an observer of the run's board (``event``)."""

    def __init__(
        self,
        run: RunState,
        replacements: Sequence[Replacement],
        *,
        side: Board,
        side_emit: Emit,
        limit: MaxUnavailable,
        group_sizes: Mapping[str, int],
    ) -> None:
        self._run = run
        self._side = side
        self._side_emit = side_emit
        self._items: dict[str, _Item] = {}
        self._by_old: dict[str, _Item] = {}
        self._groups: dict[str, _Group] = {}
        self._replaced: list[str] = []
        self._failed: list[tuple[str, str]] = []
        self._held: list[str] = []
        pairs = [(r.name, server_id) for r in replacements for server_id, _ in r.old]
        keys = iter(side_keys(pairs, side.states))
        states = []
        for replacement in replacements:
            item = _Item(replacement=replacement, keys={}, left=set())
            for server_id, status in replacement.old:
                key = next(keys)
                item.keys[server_id] = key
                item.left.add(server_id)
                self._by_old[server_id] = item
                states.append(
                    ServerState(
                        name=key,
                        group=replacement.group,
                        phase=Phase.ACTIVE,
                        status=status or None,
                        server_id=server_id,
                        existed=True,
                    )
                )
            self._items[replacement.name] = item
            group = self._groups.get(replacement.group)
            if group is None:
                size = group_sizes.get(replacement.group, 1)
                group = self._groups[replacement.group] = _Group(limit=limit.of(size))
            group.waiting.append(replacement.name)
        side.add(states)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)

    def surge(self) -> list[str]:
        """The names created before their old servers go, as many at once as the
        rollout allows: what a quota check must count beside the creates."""
        names: list[str] = []
        for group in self._groups.values():
            later = [
                n
                for n in group.waiting
                if not (
                    self._items[n].replacement.settled or self._items[n].replacement.delete_first
                )
            ]
            names.extend(later[: group.limit])
        return names

    def start(self) -> None:
        """Begin the settled replacements (only deletions left), then each group's first."""
        for group in self._groups.values():
            for name in [n for n in group.waiting if self._items[n].replacement.settled]:
                group.waiting.remove(name)
                self._begin(name, group)
            self._next(group)

    # -------------------------------------------------------------- the steps

    def _begin(self, name: str, group: _Group) -> None:
        item = self._items[name]
        group.active.add(name)
        run = self._run
        replacement = item.replacement
        if replacement.settled:
            item.stage = Stage.CREATING
            state = run.board.get(name)
            if state is not None and state.phase is Phase.ACTIVE:
                self._retire(item)
        elif replacement.delete_first:
            item.stage = Stage.DELETING_OLD
            self._delete_old(item)
        else:
            item.stage = Stage.CREATING
            self._queue(name)

    def _queue(self, name: str) -> None:
        """Send the name to the create workers, unless an earlier run's create of it may
        still land (the poll loop adopts it, or queues it once its window has passed)."""
        run = self._run
        if name in run.possible or run.stopping or run.queue is None:
            return
        run.queue.send_nowait(name)

    def _retire(self, item: _Item) -> None:
        item.stage = Stage.RETIRING
        if not item.left:
            self._done(item)
            return
        self._delete_old(item)

    def _delete_old(self, item: _Item) -> None:
        run = self._run
        if run.tasks is None:
            return
        for server_id in sorted(item.left):
            run.deletes_in_flight += 1
            run.tasks.start_soon(self._delete, item.keys[server_id], server_id)

    async def _delete(self, key: str, server_id: str) -> None:
        run = self._run
        try:
            async with run.limiter:
                sent = DeleteSent(name=key, at=run.clock(), server_id=server_id)
                if self._side_emit(sent) is None:
                    return
                existed = await run.compute.delete_server(server_id)
        except FATAL:
            raise
        except CloudError as exc:  # locked, forbidden...: this replacement ends here
            message = refusal(exc)
            self._side_emit(DeleteRefused(name=key, at=run.clock(), message=message))
            self.side_failed(server_id, f"its old server {server_id} was not deleted: {message}")
            return
        finally:
            run.deletes_in_flight -= 1
        if existed:
            run.side[server_id] = key
            run.poller.watch(server_id, key, changing=True)
        else:
            self.side_gone(server_id, run.clock())

    def _done(self, item: _Item) -> None:
        item.stage = Stage.DONE
        name = item.replacement.name
        self._replaced.append(name)
        group = self._groups[item.replacement.group]
        group.active.discard(name)
        self._progress()
        self._next(group)

    def _progress(self) -> None:
        """Say on the board (the live view's note) how far the replacements are."""
        if not self._run.stopping:
            done = len(self._replaced) + len(self._failed) + len(self._held)
            failed = f", {len(self._failed)} failed" if self._failed else ""
            self._run.board.note = (
                f"replacing changed servers: {done} of {len(self._items)} done{failed}"
            )

    def _fail(self, item: _Item, why: str) -> None:
        item.stage = Stage.FAILED
        name = item.replacement.name
        self._failed.append((name, why))
        group = self._groups[item.replacement.group]
        group.active.discard(name)
        group.halted = True
        while group.waiting:
            self._hold(group.waiting.popleft())
        self._progress()

    def _hold(self, name: str) -> None:
        """Not begun: the name keeps its old server (found, as it was)."""
        item = self._items[name]
        item.stage = Stage.HELD
        self._held.append(name)
        self._keep_old(item)

    def _keep_old(self, item: _Item) -> None:
        """The name's board state is its old server again (it was never created anew)."""
        old = [(i, self._side.get(k)) for i, k in item.keys.items() if i in item.left]
        alive = [(i, s) for i, s in old if s is not None and s.phase is not Phase.DELETED]
        if not alive:
            return
        server_id, state = next(((i, s) for i, s in alive if s.status != "ERROR"), alive[0])
        self._run.emit(
            Found(
                name=item.replacement.name,
                at=self._run.clock(),
                server_id=server_id,
                status=state.status or "ACTIVE",
            )
        )

    def _next(self, group: _Group) -> None:
        while (
            not group.halted
            and not self._run.stopping
            and group.waiting
            and len(group.active) < group.limit
        ):
            self._begin(group.waiting.popleft(), group)

    # -------------------------------------------------------------- what the run sees

    def event(self, event: Event, state: ServerState) -> None:
        """An observer of the run's board: a new server became ACTIVE, or failed."""
        item = self._items.get(state.name)
        if item is None or item.stage is not Stage.CREATING or not state.final:
            return
        if state.phase is Phase.ACTIVE:
            if item.replacement.delete_first:
                self._done(item)
            else:
                self._retire(item)
            return
        if state.phase is Phase.DELETED or retries(self._run, state):
            return  # a retry (--retry-errors) makes it again
        why = state.message or state.phase.value
        if item.replacement.delete_first:
            self._fail(item, f"the new server failed ({why}); the old one was deleted first")
            return
        self._fail(item, f"the new server failed ({why}); the old one was kept")
        if state.server_id is not None and state.phase in (Phase.ERROR, Phase.TIMEOUT):
            discard(self._run, state.name)  # so that the name is the old server's alone

    def side_gone(self, server_id: str, now: float) -> None:
        """An old server is gone (its DELETE seen done)."""
        run = self._run
        run.side.pop(server_id, None)
        run.poller.unwatch(server_id)
        item = self._by_old.get(server_id)
        if item is None:
            return
        self._side_emit(Deleted(name=item.keys[server_id], at=now, server_id=server_id))
        item.left.discard(server_id)
        if item.left:
            return
        if item.stage is Stage.RETIRING:
            self._done(item)
        elif item.stage is Stage.DELETING_OLD:
            item.stage = Stage.CREATING
            self._queue(item.replacement.name)

    def side_overdue(self, server_id: str, now: float) -> None:
        """An old server not gone by its deadline."""
        run = self._run
        run.side.pop(server_id, None)
        run.poller.unwatch(server_id)
        item = self._by_old.get(server_id)
        if item is not None:
            self._side_emit(DeadlinePassed(name=item.keys[server_id], at=now))
            self.side_failed(server_id, f"its old server {server_id} was not gone by the deadline")

    def side_failed(self, server_id: str, why: str) -> None:
        item = self._by_old.get(server_id)
        if item is None or item.stage not in (Stage.DELETING_OLD, Stage.RETIRING):
            return
        if item.stage is Stage.DELETING_OLD:
            self._fail(item, why + "; the name was not created anew")
            self._keep_old(item)
        else:  # the new server works: the group goes on
            item.stage = Stage.FAILED
            name = item.replacement.name
            self._failed.append((name, why + "; two servers carry the name"))
            group = self._groups[item.replacement.group]
            group.active.discard(name)
            self._next(group)

    def outcome(self) -> RolloutOutcome:
        unfinished = [
            n
            for n, item in self._items.items()
            if item.stage not in (Stage.DONE, Stage.FAILED, Stage.HELD)
        ]
        return RolloutOutcome(
            replaced=tuple(self._replaced),
            failed=tuple(self._failed),
            held=tuple(self._held),
            unfinished=tuple(unfinished),
        )
