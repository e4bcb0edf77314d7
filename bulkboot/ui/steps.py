"""What bulkboot is doing before the run starts: authenticating, negotiating, resolving.

Why: those steps are requests too, and a slow or silent cloud makes them long (19 s of
blank screen at 3 s of API latency). Each step is shown as it begins: on a terminal, a
spinner line with the step and how long it has taken so far, gone once the run's view
starts; elsewhere one plain line per step. How long a step may last is the cloud
client's business (its API timeout); this module only shows it.

The texts are built here from what the command knows (the cloud's configuration, the
manifest), so every command says the same thing the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO
from urllib.parse import urlsplit

from bulkboot.ui.text import printable

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

    from bulkboot.cloud.config import CloudConfig
    from bulkboot.pipeline.spec import Manifest

__all__ = [
    "LineSteps",
    "LiveSteps",
    "NoSteps",
    "Steps",
    "authenticating",
    "is_terminal",
    "lines_on_terminal",
    "negotiating",
    "on_terminal",
    "resolving",
    "where",
]

LISTING = "listing the fleet's servers"
QUOTA = "checking the quota"


class Steps(Protocol):
    def step(self, text: str) -> None:
        """Show that ``text`` (a step) has begun; the step before it is over."""

    def done(self) -> None:
        """The steps are over (the run's view, or a question, comes next)."""


class NoSteps:
    """Nothing shown (a program reads the output)."""

    def step(self, text: str) -> None:
        pass

    def done(self) -> None:
        pass


class LineSteps:
    """One line per step, for logs and pipes."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def step(self, text: str) -> None:
        try:
            self._out.write(printable(text) + "\n")
            self._out.flush()
        except BrokenPipeError:  # nobody reads any more (`| head`): the run goes on
            pass

    def done(self) -> None:
        pass


class _Current:
    """The spinner line: the step and the seconds it has taken, read at each refresh."""

    def __init__(self, clock: Callable[[], float]) -> None:
        from rich.spinner import Spinner

        self._clock = clock
        self._spinner = Spinner("dots")
        self.text = ""
        self.since = clock()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        waited = self._clock() - self.since
        shown = f"{self.text} ({waited:.0f}s)" if waited >= 2 else self.text
        self._spinner.update(text=shown)
        yield self._spinner


class LiveSteps:
    """A spinner line on a terminal, redrawn by rich; it disappears at ``done``."""

    def __init__(self, console: Console, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._current = _Current(clock)
        self._clock = clock
        self._live: Live | None = None

    def step(self, text: str) -> None:
        self._current.text = printable(text)
        self._current.since = self._clock()
        if self._live is None:
            from rich.live import Live

            self._live = Live(
                self._current,
                console=self._console,
                refresh_per_second=8,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        else:
            self._live.refresh()

    def done(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def is_terminal(stream: TextIO) -> bool:
    """Is ``stream`` a terminal (a closed or detached stream is not)?"""
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def lines_on_terminal(stream: TextIO) -> Steps:
    """Steps as lines on ``stream`` (stderr, beside a JSON document or plain lines on
    stdout) when it is a terminal; a log or a pipe gets none."""
    return LineSteps(stream) if is_terminal(stream) else NoSteps()


def on_terminal(stream: TextIO) -> Steps:
    """Steps for a command whose output is a table or a document on stdout (``status``,
    ``plan``): a spinner on ``stream`` (stderr) when it is a terminal, else nothing."""
    if not is_terminal(stream):
        return NoSteps()
    from rich.console import Console

    return LiveSteps(Console(file=stream))


# ----------------------------------------------------------------- the texts


def where(url: str) -> str:
    """A URL as shown in a step: scheme, host, port and path; never a user or password
    written into it (``http://user:pw@host``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # not a URL after all: show only that there was one
        return "(an unreadable URL)"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else host + parts.path


def authenticating(config: CloudConfig) -> str | None:
    """The step of opening ``config``'s cloud; None with no Keystone (``auth_type: none``)."""
    if config.auth_type == "none" or not config.auth_url:
        return None
    return f"authenticating at {where(config.auth_url)} (cloud {config.name})"


def negotiating(endpoint: str) -> str:
    return f"negotiating the compute microversion at {where(endpoint)}"


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def resolving(manifest: Manifest) -> str:
    """``resolving 3 images, 2 flavors, 1 network``: the distinct references, each
    looked up once (one pass over the servers; sets of shared values)."""
    images: set[object] = set()
    flavors: set[str] = set()
    networks: set[str] = set()
    for spec in manifest.servers:
        if spec.image is not None:
            images.add(spec.image)
        elif spec.image_with:
            images.add(tuple(sorted(spec.image_with.items())))
        if spec.flavor is not None:
            flavors.add(spec.flavor)
        if isinstance(spec.networks, tuple):
            for nic in spec.networks:
                for ref in (nic.net_name, nic.net_id):
                    if ref is not None:
                        networks.add(ref)
    counts = ((len(images), "image"), (len(flavors), "flavor"), (len(networks), "network"))
    return "resolving " + ", ".join(_counted(n, noun) for n, noun in counts if n)
