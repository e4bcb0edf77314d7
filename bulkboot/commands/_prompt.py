"""Asking before acting: on the terminal only, never into what a program reads.

Why each rule:

- The question is written to the terminal (stderr, or ``/dev/tty`` when stderr is
  redirected), never to stdout: ``apply --format json > out.json`` must leave one JSON
  document in the file, and a user must see what they are asked.
- There is someone to ask only when stdin is a terminal. Without one (cron, CI, ``ssh``
  without ``-t``, ``</dev/null``) a command that deletes refuses unless ``--yes`` is
  given, before it sends anything (``refuse_unattended``), as Terraform's ``destroy``
  does without ``-auto-approve``; one that only creates goes ahead, as it always has.
- The answer is read in the event loop, not in a thread: Ctrl-C at the question stops
  at once (exit 130, nothing sent) instead of waiting for Enter, and the end of input
  (Ctrl-D, a closed pipe) means no (exit 1, nothing sent).

Not a command (``bulkboot.cli`` skips ``_`` modules). Imports anyio: load it from ``run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

import anyio
import anyio.abc

from bulkboot.errors import Interrupted, UsageError

__all__ = ["Answer", "Terminal", "ask", "refuse_unattended", "terminal"]

_LONGEST_ANSWER = 1024  # bytes read before giving up on a line (nobody types more)


@dataclass(frozen=True, slots=True)
class Terminal:
    """Where to ask: answers are read from ``fd`` (stdin), the question written to ``out``."""

    fd: int
    out: TextIO


@dataclass(frozen=True, slots=True)
class Answer:
    """What the user said: yes or not, and, when not, why (for the message)."""

    yes: bool
    end_of_input: bool = False


def _stdin_is_terminal() -> bool:
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (OSError, ValueError):  # closed
        return False


@contextlib.contextmanager
def terminal() -> Iterator[Terminal | None]:
    """The terminal to ask on, or None when stdin is not one (nobody to answer)."""
    if not _stdin_is_terminal():
        yield None
        return
    if sys.stderr is not None and sys.stderr.isatty():
        yield Terminal(sys.stdin.fileno(), sys.stderr)
        return
    try:
        tty = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        yield Terminal(sys.stdin.fileno(), sys.stderr)  # the best there is
        return
    with tty:
        yield Terminal(sys.stdin.fileno(), tty)


def refuse_unattended(command: str, *, yes: bool, cloud: str | None, what: str) -> None:
    """Raise ``UsageError`` when ``command`` would ``what`` (delete servers) with nobody
    to ask and no ``--yes``. Called before the cloud is opened: nothing is sent.

    The embedded simulator is a fresh, empty cloud of the command's own: nothing to
    lose, nothing to ask.
    """
    if yes or _stdin_is_terminal():
        return
    from bulkboot.cloud.config import wants_embedded_simulator

    if wants_embedded_simulator(cloud):
        return
    raise UsageError(
        f"{command} would {what}, and stdin is not a terminal to ask on first (a script, "
        f"cron, CI, ssh without -t): add --yes to {what} without asking; nothing was sent"
    )


async def _readable(fd: int) -> None:
    """Until ``fd`` has something to read (or its end)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def _read_line(fd: int) -> str | None:
    """One line typed at the terminal, without its newline; None at the end of input."""
    typed = b""
    while b"\n" not in typed and len(typed) < _LONGEST_ANSWER:
        await _readable(fd)
        try:
            chunk = os.read(fd, _LONGEST_ANSWER)
        except OSError:  # the terminal went away (a pty whose other side closed)
            chunk = b""
        if not chunk:
            return typed.decode("utf-8", "replace") if typed else None
        typed += chunk
    return typed.split(b"\n", 1)[0].decode("utf-8", "replace")


async def ask(where: Terminal, question: str) -> Answer:
    """Ask ``question`` on the terminal; yes only for ``y`` or ``yes``.

    Ctrl-C raises ``Interrupted`` (exit 130) at once; the end of input is a no.
    """
    answer: list[str | None] = []
    interrupted = False

    async def watch(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        nonlocal interrupted
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            task_status.started()
            async for _ in signals:
                interrupted = True
                group.cancel_scope.cancel()
                return

    async with anyio.create_task_group() as group:
        await group.start(watch)  # Ctrl-C is ours before the question shows
        where.out.write(f"{question} [y/N] ")
        where.out.flush()
        answer.append(await _read_line(where.fd))
        group.cancel_scope.cancel()
    if interrupted:
        where.out.write("\n")  # after the ^C the terminal echoed
        where.out.flush()
        raise Interrupted("interrupted at the question: nothing was sent")
    said = answer[0] if answer else None
    if said is None:
        where.out.write("\n")  # no Enter was pressed: end the question's line
        where.out.flush()
        return Answer(yes=False, end_of_input=True)
    return Answer(yes=said.strip().lower() in ("y", "yes"))
