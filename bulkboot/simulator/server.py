"""Start the simulated cloud: in a background thread, or inside a running event loop.

``start_simulator()`` gives tests, benchmarks and ``--cloud simulator`` a real HTTP
endpoint on 127.0.0.1 without blocking the caller: the server runs its own event loop
in a daemon thread and ``RunningSimulator`` talks to it thread-safely.
``serve_simulator()`` runs it inside the caller's loop (the ``bulkboot simulator``
command, or async code that wants no thread). Both take a ``clock``: the wall by
default, or a ``ManualClock`` a test advances by hand (see ``clock``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from bulkboot.simulator.app import build_app, stats_of
from bulkboot.simulator.clock import WALL_CLOCK, Clock
from bulkboot.simulator.config import (
    APP_CRED_ID,
    APP_CRED_SECRET,
    DOMAIN,
    PASSWORD,
    PROJECT_NAME,
    REGION,
    USERNAME,
    SimConfig,
    changed,
)
from bulkboot.simulator.state import CloudState

__all__ = ["RunningSimulator", "serve_simulator", "start_simulator"]

T = TypeVar("T")
_START_TIMEOUT = 10.0
DEFAULT_CONFIG = SimConfig()


class RunningSimulator:
    """A listening simulator. Its methods are safe to call from any thread."""

    def __init__(
        self,
        *,
        state: CloudState,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        stopper: Callable[[], None],
        initial: SimConfig,
        clock: Clock,
    ) -> None:
        self._state = state
        self._clock = clock
        self._initial = initial
        self._loop = loop
        self._stopper = stopper
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"
        self.auth_url = f"{self.base_url}/identity/v3"

    def __repr__(self) -> str:
        return f"RunningSimulator(base_url={self.base_url!r})"

    # -------------------------------------------------------------- threads
    def _call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the simulator's loop (directly when already on it)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return function()
        if self._loop.is_closed() or not self._loop.is_running():
            raise RuntimeError(f"the simulator at {self.base_url} is stopped")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function())
            except BaseException as exc:  # handed back to the caller's thread
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=_START_TIMEOUT)

    # -------------------------------------------------------------- API
    @property
    def clock(self) -> Clock:
        """The time the simulator runs on (a ``ManualClock`` moves only when advanced)."""
        return self._clock

    @property
    def config(self) -> SimConfig:
        return self._state.config

    def configure(self, **changes: Any) -> SimConfig:
        """Swap knobs while running, e.g. ``sim.configure(error_fraction=0.5)``; the same
        as ``POST /_sim/config`` (``config.changed``: a bad value is a ``ValueError``, an
        unknown name a ``TypeError``). Passing a different ``seed`` restarts the RNG.
        """

        def apply() -> SimConfig:
            self._state.configure(changed(self._state.config, changes))
            return self._state.config

        return self._call(apply)

    def reset(self, config: SimConfig | None = None) -> None:
        """Forget every server, token and count; back to ``config`` (default: the start one)."""

        def apply() -> None:
            self._state.reset(config if config is not None else self._initial)

        self._call(apply)

    def stats(self) -> dict[str, Any]:
        """The same document as ``GET /_sim/stats``."""
        return self._call(lambda: stats_of(self._state))

    def clouds_yaml(self) -> dict[str, Any]:
        """A complete clouds.yaml mapping: cloud "simulator" (password) and
        "simulator-appcred" (application credential)."""
        common = {
            "region_name": REGION,
            "interface": "public",
            "identity_api_version": 3,
        }
        return {
            "clouds": {
                "simulator": {
                    "auth_type": "password",
                    "auth": {
                        "auth_url": self.auth_url,
                        "username": USERNAME,
                        "password": PASSWORD,
                        "project_name": PROJECT_NAME,
                        "user_domain_name": DOMAIN,
                        "project_domain_name": DOMAIN,
                    },
                    **common,
                },
                "simulator-appcred": {
                    "auth_type": "v3applicationcredential",
                    "auth": {
                        "auth_url": self.auth_url,
                        "application_credential_id": APP_CRED_ID,
                        "application_credential_secret": APP_CRED_SECRET,
                    },
                    **common,
                },
            }
        }

    def stop(self) -> None:
        """Stop listening and release the port; idempotent."""
        self._stopper()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def _start(
    config: SimConfig, host: str, port: int, clock: Clock
) -> tuple[web.AppRunner, CloudState, int]:
    sock = _listening_socket(host, port)
    bound_port = int(sock.getsockname()[1])
    shown = f"[{host}]" if ":" in host else host
    state = CloudState(config, clock=clock)
    app = build_app(config, f"http://{shown}:{bound_port}", state=state)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.SockSite(runner, sock, backlog=1024)
    await site.start()
    return runner, state, bound_port


@asynccontextmanager
async def serve_simulator(
    config: SimConfig = DEFAULT_CONFIG,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Clock = WALL_CLOCK,
) -> AsyncIterator[RunningSimulator]:
    """Run the simulator inside the current event loop for the ``async with`` block."""
    runner, state, bound = await _start(config, host, port, clock)
    sim = RunningSimulator(
        state=state,
        loop=asyncio.get_running_loop(),
        host=host,
        port=bound,
        stopper=lambda: None,
        initial=config,
        clock=clock,
    )
    try:
        yield sim
    finally:
        await runner.cleanup()


def start_simulator(
    config: SimConfig = DEFAULT_CONFIG,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Clock = WALL_CLOCK,
) -> RunningSimulator:
    """Start the simulator in a background thread; return once it listens.

    With a ``ManualClock``, builds, deletes, token expiry, the rate limit and the
    latency all wait for the test to ``advance()`` it.

    Raises ``OSError`` when the port cannot be bound.
    """
    ready: concurrent.futures.Future[tuple[CloudState, int, asyncio.AbstractEventLoop]] = (
        concurrent.futures.Future()
    )
    holder: dict[str, asyncio.Event] = {}

    async def main() -> None:
        try:
            runner, state, bound = await _start(config, host, port, clock)
        except BaseException as exc:
            ready.set_exception(exc)
            return
        stop = asyncio.Event()
        holder["stop"] = stop
        ready.set_result((state, bound, asyncio.get_running_loop()))
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    thread = threading.Thread(
        target=lambda: asyncio.run(main()), name="bulkboot-simulator", daemon=True
    )
    thread.start()
    state, bound, loop = ready.result(timeout=_START_TIMEOUT)
    stopped = threading.Event()

    def stopper() -> None:
        if stopped.is_set():
            return
        stopped.set()
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=_START_TIMEOUT)

    return RunningSimulator(
        state=state,
        loop=loop,
        host=host,
        port=bound,
        stopper=stopper,
        initial=config,
        clock=clock,
    )
