"""What ``apply`` changes besides creating: ``--prune``'s deletions, and the account of a
converging run (``Converged``: replacements, deletions, what was left as it was).

Kept apart from ``apply.py``, which composes the run's phases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from bulkboot.engine.board import Board, Emit
from bulkboot.engine.deletes import delete_and_wait
from bulkboot.engine.diff import Extra
from bulkboot.engine.rollout import Rollout, RolloutOutcome, side_keys
from bulkboot.engine.run_state import RunState
from bulkboot.engine.state import Event, Phase, ServerState

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Converged", "RolloutWatch", "names_taken_message", "prune"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Converged:
    """What a run changed besides creating: replacements (``--replace-changed``), the
    servers deleted (``--prune``), and what it left as it was, said in its summary."""

    rollout: RolloutOutcome = RolloutOutcome()
    pruned: tuple[str, ...] = ()
    prune_failed: tuple[tuple[str, str], ...] = ()  # (name, why)
    extra_kept: int = 0  # servers the manifest no longer names, left (no --prune)
    changed_kept: int = 0  # servers that differ from the manifest, left (no --replace-changed)

    @property
    def ok(self) -> bool:
        rollout = self.rollout
        return not (rollout.failed or rollout.held or rollout.unfinished or self.prune_failed)

    def counts(self) -> dict[str, int]:
        """For the summary (``ui.report``): how many of each."""
        return {
            "replaced": len(self.rollout.replaced),
            "replace_failed": len(self.rollout.failed),
            "replace_held": len(self.rollout.held),
            "pruned": len(self.pruned),
            "prune_failed": len(self.prune_failed),
            "extra_kept": self.extra_kept,
            "changed_kept": self.changed_kept,
        }

    def notes(self) -> list[str]:
        notes = [f"{name}: the replacement failed: {why}" for name, why in self.rollout.failed[:10]]
        if self.rollout.held:
            names = ", ".join(self.rollout.held[:5]) + (
                " ..." if len(self.rollout.held) > 5 else ""
            )
            notes.append(
                f"{len(self.rollout.held)} replacement(s) not begun after a failure in their "
                f"group; their servers were kept as they are: {names}"
            )
        notes.extend(
            f"{name}: not deleted (--prune): {why}" for name, why in self.prune_failed[:10]
        )
        return notes


async def prune(
    run: RunState, extra: Sequence[Extra], *, side: Board, side_emit: Emit
) -> tuple[list[str], list[tuple[str, str]]]:
    """Delete the fleet's servers the manifest no longer names (``--prune``) and wait
    until they are gone, each DELETE journaled before it is sent; returns the names
    gone and (name, why) of those that are not. Never a server without the fleet's
    mark: ``extra`` comes from the fleet's own records (``inventory``)."""
    options = run.options
    targets = [(e.name, e.server_id) for e in extra]
    keys = side_keys(targets, side.states)
    side.add(
        ServerState(
            name=key,
            server_id=e.server_id,
            status=e.status or None,
            phase=Phase.ACTIVE,
            existed=True,
        )
        for key, e in zip(keys, extra, strict=True)
    )
    await delete_and_wait(
        run.compute,
        [(key, e.server_id) for key, e in zip(keys, extra, strict=True)],
        emit=side_emit,
        limiter=anyio.CapacityLimiter(max(1, options.concurrency)),
        poller=run.poller,
        pacing=options.pacing,
        deadline=options.timeout,
        clock=run.clock,
        rng=run.rng,
        should_stop=lambda: run.stopping,
        stopped=run.stopped,
    )
    gone: list[str] = []
    failed: list[tuple[str, str]] = []
    for key in keys:
        state = side.get(key)
        if state is not None and state.phase is Phase.DELETED:
            gone.append(key)
        elif state is not None:
            failed.append((key, state.message or f"still {state.phase.value}"))
    return gone, failed


class RolloutWatch:
    """The run's board tells the rollout (once there is one) what became of each server."""

    __slots__ = ("_rollout",)

    def __init__(self, rollout: Callable[[], Rollout | None]) -> None:
        self._rollout = rollout

    def event(self, event: Event, state: ServerState) -> None:
        rollout = self._rollout()
        if rollout is not None:
            rollout.event(event, state)


def names_taken_message(fleet: str, taken: Mapping[str, str]) -> str:
    names = list(taken)
    shown = "; ".join(f"{name}: {taken[name]}" for name in names[:5])
    return (
        f"{len(names)} name(s) to create are already carried by servers outside fleet "
        f"{fleet!r} ({shown}{' ...' if len(names) > 5 else ''}): they are never taken for "
        "the fleet's, and creating would make a second server of each name (Nova allows "
        "it). Rename them or the manifest's servers, or add --allow-duplicate-names to "
        "create them anyway; nothing was sent"
    )
