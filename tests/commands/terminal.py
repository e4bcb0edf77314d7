"""A bulkboot command in a child process whose stdin and stderr are a pseudo-terminal.

Why a real terminal: the question must go to the terminal (not stdout), Ctrl-C typed
there must reach the process as the terminal sends it (the line discipline turns
``^C`` into SIGINT for the foreground process group), and ``^D`` must be the end of
input. The child is a session leader with the pty as its controlling terminal, as a
shell would start it; its stdout is a pipe, read whole at the end.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.commands.cli_helpers import REPO

CTRL_C = b"\x03"
CTRL_D = b"\x04"
# A guard against a test that would hang, never a measure of speed.
_GUARD = 60.0


def _take_terminal() -> None:  # runs in the child, after setsid
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class TerminalRun:
    """``python -m bulkboot ARGS`` on a terminal; ``screen`` is what it showed there."""

    def __init__(
        self, args: list[str], *, cwd: Path, env: dict[str, str], stdout_too: bool = False
    ) -> None:
        """``stdout_too``: stdout is the terminal as well (the live view), not a pipe."""
        self._master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bulkboot", *args],
            cwd=cwd,
            env=dict(env, PYTHONPATH=str(REPO), COLUMNS="200", TERM="xterm"),
            stdin=slave,
            stderr=slave,
            stdout=slave if stdout_too else subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self.screen = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # the child closed its side (exited)
            return False
        self.screen += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def wait_for(self, text: str) -> None:
        """Until the terminal shows ``text``."""
        deadline = time.monotonic() + _GUARD
        while text not in self.screen:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self._read(0.2)
                if text in self.screen:
                    return
                self.stop()
                raise AssertionError(f"never shown: {text!r}; the terminal shows {self.screen!r}")
            self._read(0.1)

    def stop(self) -> None:
        """Kill the child (a test that failed half-way) and close what it held."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=_GUARD)
        if self.process.stdout is not None:
            self.process.stdout.close()
        os.close(self._master)

    def type(self, keys: bytes) -> None:
        os.write(self._master, keys)

    def finish(self) -> tuple[int, str]:
        """Exit code and stdout, once the child has exited by itself (no more keys)."""
        out = self.process.stdout.fileno() if self.process.stdout is not None else self._master
        chunks: list[bytes] = []
        reading = list({self._master, out})
        deadline = time.monotonic() + _GUARD
        while out in reading:
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"did not exit; the terminal shows {self.screen!r}")
            ready, _, _ = select.select(reading, [], [], 0.2)
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the pty's other side is gone
                    chunk = b""
                if not chunk:
                    reading.remove(fd)
                elif fd == self._master:
                    self.screen += chunk.decode("utf-8", "replace")
                else:
                    chunks.append(chunk)
        code = self.process.wait(timeout=_GUARD)
        while self._read(0.05):
            pass
        os.close(self._master)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code, b"".join(chunks).decode()
