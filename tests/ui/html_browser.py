"""A real browser for the HTML report tests: Debian's ``chromium``, headless, driven over
the Chrome DevTools Protocol on a websocket (aiohttp), nothing downloaded.

``chromium_process`` starts one browser for a test module (``--remote-debugging-port=0``
on 127.0.0.1; the port is read from ``DevToolsActivePort`` in its fresh profile);
each test opens its own ``Page`` (a new tab) over its own connection. Without
``/usr/bin/chromium`` the tests skip with the reason, except in CI
(``BULKBOOT_REQUIRE_CHROMIUM=1``, set by ``.ci/run``), where they fail: a browser that
is not there must never pass as green.

What a page records: console messages and exceptions, log entries (CSP refusals,
failed loads), and every request the page made.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

REQUIRE = "BULKBOOT_REQUIRE_CHROMIUM"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
# Safety limits, not assertions: a browser that never starts or never answers must
# fail the test instead of hanging it.
START_LIMIT = 60.0
ANSWER_LIMIT = 60.0


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The browser's path; skip without one, fail in CI."""
    path = chromium_path()
    if path is None:
        reason = "chromium is not installed (apt-get install -y chromium); .ci/run installs it"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {reason}")
        pytest.skip(reason)
    return path


@dataclass(frozen=True, slots=True)
class RunningChromium:
    port: int
    browser_ws: str


@contextlib.contextmanager
def chromium_process() -> Iterator[RunningChromium]:
    """One headless chromium with a fresh profile, stopped (and its profile removed)
    at the end."""
    binary = require_chromium()
    profile = tempfile.mkdtemp(prefix="bulkboot-chromium-")
    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        active = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + START_LIMIT
        while not (active.exists() and len(active.read_text().splitlines()) >= 2):
            if process.poll() is not None:
                pytest.fail(f"chromium exited with {process.returncode} before it listened")
            if time.monotonic() > deadline:
                pytest.fail(f"chromium did not listen within {START_LIMIT:g} s")
            time.sleep(0.05)
        port_text, path = active.read_text().splitlines()[:2]
        yield RunningChromium(port=int(port_text), browser_ws=f"ws://127.0.0.1:{port_text}{path}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


@dataclass(slots=True)
class Page:
    """One tab, attached through a flat session on the browser's websocket."""

    ws: aiohttp.ClientWebSocketResponse
    session: str
    target: str
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, anyio.Event] = field(default_factory=dict)
    _answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    loaded: anyio.Event = field(default_factory=anyio.Event)
    root: int = 0

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False
    ) -> Any:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if not browser:
            message["sessionId"] = self.session
        answered = anyio.Event()
        self._waiting[ident] = answered
        await self.ws.send_str(json.dumps(message))
        with anyio.fail_after(ANSWER_LIMIT):
            await answered.wait()
        answer = self._answers.pop(ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def pump(self) -> None:
        """Read the websocket: answers to their callers, events into ``events``."""
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                waiting = self._waiting.pop(data["id"], None)
                if waiting is not None:
                    self._answers[data["id"]] = data
                    waiting.set()
            elif data.get("sessionId") == self.session:
                self.events.append(data)
                if data.get("method") == "Page.loadEventFired":
                    self.loaded.set()

    # ------------------------------------------------------------------ what a test uses

    async def open(self, url: str, *, javascript: bool, dark: bool = False) -> None:
        for domain in ("Page", "Runtime", "Log", "Network", "DOM", "CSS"):
            await self.call(f"{domain}.enable")
        await self.call("Emulation.setScriptExecutionDisabled", {"value": not javascript})
        await self.call(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
        )
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        self.loaded = anyio.Event()
        await self.call("Page.navigate", {"url": url})
        with anyio.fail_after(ANSWER_LIMIT):
            await self.loaded.wait()
        # Node ids live until the next getDocument: take it once per page.
        self.root = (await self.call("DOM.getDocument", {"depth": -1}))["root"]["nodeId"]

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, error log entries."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
                "assert",
            ):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in (
                "error",
                "warning",
            ):
                entry = params["entry"]
                found.append(f"log {entry.get('source')}/{entry.get('level')}: {entry.get('text')}")
        return found

    def requests(self) -> list[str]:
        """The URL of every request the page made (its own document included)."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    async def html(self) -> str:
        """The DOM as the browser built it."""
        found = await self.call("DOM.getOuterHTML", {"nodeId": self.root})
        return str(found["outerHTML"])

    async def nodes(self, selector: str) -> list[int]:
        found = await self.call("DOM.querySelectorAll", {"nodeId": self.root, "selector": selector})
        return list(found["nodeIds"])

    async def attributes(self, node: int) -> dict[str, str]:
        found = (await self.call("DOM.getAttributes", {"nodeId": node}))["attributes"]
        return dict(zip(found[::2], found[1::2], strict=True))

    async def box(self, node: int) -> tuple[float, float]:
        """The rendered width and height of a node (its border box)."""
        model = (await self.call("DOM.getBoxModel", {"nodeId": node}))["model"]
        return float(model["width"]), float(model["height"])

    async def style(self, node: int, name: str) -> str:
        found = await self.call("CSS.getComputedStyleForNode", {"nodeId": node})
        return next((p["value"] for p in found["computedStyle"] if p["name"] == name), "")

    async def evaluate(self, expression: str) -> Any:
        found = await self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        return found["result"].get("value")

    async def screenshot(self) -> bytes:
        """The whole page as a PNG."""
        shot = await self.call(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        return base64.b64decode(shot["data"])

    async def pdf(self) -> bytes:
        """The page printed (print media), as a PDF."""
        printed = await self.call("Page.printToPDF", {"printBackground": False})
        return base64.b64decode(printed["data"])


@contextlib.asynccontextmanager
async def open_page(chromium: RunningChromium) -> AsyncIterator[Page]:
    """A new tab on its own connection, closed at the end."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(chromium.browser_ws, max_msg_size=0) as ws,
    ):
        target_page = Page(ws=ws, session="", target="")
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(target_page.pump)
            created = await target_page.call(
                "Target.createTarget", {"url": "about:blank"}, browser=True
            )
            attached = await target_page.call(
                "Target.attachToTarget",
                {"targetId": created["targetId"], "flatten": True},
                browser=True,
            )
            target_page.session = attached["sessionId"]
            target_page.target = created["targetId"]
            try:
                yield target_page
            finally:
                with contextlib.suppress(Exception):
                    await target_page.call(
                        "Target.closeTarget", {"targetId": created["targetId"]}, browser=True
                    )
                tasks.cancel_scope.cancel()
