"""The same requests to the simulator and to real Nova, and what differs between the answers.

A ``Step`` is one request written once, with placeholders for what differs between the
two clouds by nature (``{image}``, ``{network}``, ``{server:NAME}`` for a server the
script made, ``{since:NAME}`` for its creation time). Each ``Side`` fills them in with
its own values, sends the request (stdlib HTTP: no bulkboot code between the two
clouds and the comparison) and reduces the answer to what a client reads:

- the status code;
- for an error, the fault's name, code and message (identities put back as
  placeholders, so "Instance {server:a} could not be found." reads the same on both);
- the body's shape: every key path with the JSON types found there (``server.links[].
  rel: str``), maps of free keys (metadata, addresses, ...) as ``{}``;
- the values of the keys whose value a client acts on (status, task and vm state,
  version, links' ``rel`` and ``href`` with the root and identities put back);
- the headers: both microversion headers, ``Vary`` (as a set of tokens), the request
  id's shape and the compute request id beside it, ``Content-Type``, ``Location``.

``compare`` turns two observations into difference strings, ``"<step> | <aspect>"``,
which docs/simulator.md's "Known differences from Nova 34" lists as patterns.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Seen", "Side", "Step", "compare", "known_patterns"]

# Keys whose keys are data, not schema: compared as maps of values.
OPEN_MAPS = frozenset({"metadata", "extra_specs", "addresses", "scheduler_hints", "properties"})
# Keys whose values a client acts on: compared as values, not only as types.
VALUE_KEYS = frozenset(
    {
        "status",
        "OS-EXT-STS:vm_state",
        "OS-EXT-STS:task_state",
        "OS-EXT-STS:power_state",
        "version",
        "min_version",
        "rel",
        "href",
        "id",
    }
)
_REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PLACEHOLDER = re.compile(r"\{([a-z]+(?::[A-Za-z0-9.-]+)?)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One request of a script. ``wait`` is done before it (and not compared):
    ``("ACTIVE", "a")`` until server ``a`` is ACTIVE, ``("gone", "a")`` until 404."""

    key: str
    method: str
    path: str  # below the compute root: "/" is Nova's root, "/v2.1/..." the API
    microversion: str | None = None
    body: Any = None
    capture: str | None = None  # the created server's id, kept as {server:NAME}
    wait: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # steps of one batch run back to back on each side (one side, then the other):
    # for requests whose timing matters, like a delete right after the create
    batch: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """What a client reads of one answer, with each side's identities made placeholders."""

    status: int
    fault: tuple[str, Any, str] | None
    shape: frozenset[str]
    values: frozenset[str]
    headers: Mapping[str, str]


@dataclass(slots=True)
class Side:
    """One cloud: where its compute root is, how to be its project's admin, its fixtures."""

    name: str
    root: str  # Nova: http://127.0.0.1:PORT; the simulator: http://127.0.0.1:PORT/compute
    headers: dict[str, str]
    names: dict[str, str]  # placeholder -> value (image, network, ...), grows as it runs
    skip_ids: frozenset[str] = frozenset()  # list items (by id) the other side has no twin of

    def fill(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.names.get(m.group(1), m.group(0)), text)

    def fill_body(self, body: Any) -> Any:
        if body is None:
            return None
        return json.loads(self.fill(json.dumps(body)))

    def call(self, step: Step) -> tuple[int, dict[str, str], Any]:
        headers = {"Accept": "application/json", **self.headers, **step.headers}
        if step.microversion is not None:
            headers["OpenStack-API-Version"] = f"compute {step.microversion}"
        if isinstance(step.body, str):  # sent as written (malformed JSON, say)
            data: bytes | None = step.body.encode()
        else:
            body = self.fill_body(step.body)
            data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.root + self.fill(step.path), data=data, method=step.method, headers=headers
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=60) as response:
                status, raw, got = int(response.status), response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, got = exc.code, exc.read(), exc.headers
        seen = {k.lower(): ", ".join(got.get_all(k) or []) for k in set(got.keys())}
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        return status, seen, decoded

    def run(self, step: Step) -> Seen:
        if step.wait is not None:
            self._wait(*step.wait)
        status, headers, body = self.call(step)
        if step.capture is not None and status == 202:
            server = body["server"]
            self.names[f"server:{step.capture}"] = server["id"]
            shown = self.call(Step(key="", method="GET", path=f"/v2.1/servers/{server['id']}"))
            self.names[f"since:{step.capture}"] = shown[2]["server"]["created"]
        return self.observe(status, headers, body)

    def _wait(self, until: str, name: str, timeout: float = 90.0) -> None:
        path = f"/v2.1/servers/{{server:{name}}}"
        deadline = time.monotonic() + timeout
        while True:
            status, _, body = self.call(Step(key="", method="GET", path=path))
            if until == "gone" and status == 404:
                return
            if status == 200 and body["server"]["status"] == until:
                return
            assert time.monotonic() < deadline, f"{self.name}: {name} not {until}: {body}"
            time.sleep(0.2)

    # ------------------------------------------------------------ observing

    def placeholders(self, text: str) -> str:
        """The side's root and identities in ``text`` put back as placeholders."""
        text = text.replace(self.root, "{root}")
        for name, value in sorted(self.names.items(), key=lambda kv: -len(kv[1])):
            if len(value) >= 8:  # IDs and timestamps, never short words
                text = text.replace(value, "{" + name + "}")
        return text

    def observe(self, status: int, headers: Mapping[str, str], body: Any) -> Seen:
        fault = None
        if status >= 400 and isinstance(body, dict) and len(body) == 1:
            ((name, inner),) = body.items()
            if isinstance(inner, dict) and "message" in inner:
                fault = (name, inner.get("code"), self.placeholders(str(inner["message"])))
        if fault is None and status >= 400 and isinstance(body, dict):
            fault = ("", body.get("code"), self.placeholders(str(body.get("message"))))
        paths: set[str] = set()
        values: set[str] = set()
        if status < 400:
            self._walk(body, "", paths, values)
        return Seen(
            status=status,
            fault=fault,
            shape=frozenset(paths),
            values=frozenset(values),
            headers=self._header_facts(headers),
        )

    def _walk(self, value: Any, path: str, paths: set[str], values: set[str]) -> None:
        key = path.rsplit(".", 1)[-1].rstrip("[]{}")
        if isinstance(value, dict):
            if key in OPEN_MAPS:
                paths.add(f"{path}: map")
                for item in value.values():
                    self._walk(item, path + "{}", paths, values)
                return
            paths.add(f"{path or '.'}: object")
            for name, item in value.items():
                self._walk(item, f"{path}.{name}" if path else name, paths, values)
            return
        if isinstance(value, list):
            paths.add(f"{path}: list")
            for item in value:
                if isinstance(item, dict) and str(item.get("id")) in self.skip_ids:
                    continue
                self._walk(item, path + "[]", paths, values)
            return
        paths.add(f"{path}: {_json_type(value)}")
        if key in VALUE_KEYS:
            values.add(f"{path} = {self.placeholders(json.dumps(value))}")

    def _header_facts(self, headers: Mapping[str, str]) -> dict[str, str]:
        facts = {
            name: headers.get(name, "(absent)")
            for name in ("openstack-api-version", "x-openstack-nova-api-version", "content-type")
        }
        facts["content-type"] = facts["content-type"].lower().replace(" ", "")
        vary = headers.get("vary")
        facts["vary"] = (
            ", ".join(sorted({t.strip().lower() for t in vary.split(",")})) if vary else "(absent)"
        )
        request_id = headers.get("x-openstack-request-id", "")
        facts["request id"] = "req-<uuid>" if _REQUEST_ID.match(request_id) else request_id
        compute_id = headers.get("x-compute-request-id")
        facts["compute request id"] = (
            "(absent)" if compute_id is None else "same" if compute_id == request_id else "other"
        )
        location = headers.get("location")
        facts["location"] = "(absent)" if location is None else self.placeholders(location)
        return facts


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def compare(step: Step, sim: Seen, nova: Seen) -> list[str]:
    """``"<step> | <aspect>"`` for each way the simulator's answer differs from Nova's."""
    found: list[str] = []
    if sim.status != nova.status:
        found.append(f"status {sim.status} (Nova {nova.status})")
    if sim.fault != nova.fault:
        found.append(f"fault {sim.fault!r} (Nova {nova.fault!r})")
    found += [f"body only in Nova: {p}" for p in sorted(nova.shape - sim.shape)]
    found += [f"body only in the simulator: {p}" for p in sorted(sim.shape - nova.shape)]
    found += [f"value only in Nova: {v}" for v in sorted(nova.values - sim.values)]
    found += [f"value only in the simulator: {v}" for v in sorted(sim.values - nova.values)]
    for name in sorted(nova.headers):
        if sim.headers.get(name) != nova.headers[name]:
            found.append(f"header {name}: {sim.headers.get(name)} (Nova {nova.headers[name]})")
    return [f"{step.key} | {aspect}" for aspect in found]


def known_patterns(markdown: str, heading: str) -> list[tuple[str, str]]:
    """The ``(pattern, reason)`` bullets of the section ``heading`` of a markdown text:
    each bullet starts with the pattern in backquotes, then its reason."""
    lines: Iterable[str] = markdown.splitlines()
    found: list[tuple[str, str]] = []
    inside = False
    for line in lines:
        if line.startswith("## "):
            inside = line[3:].strip() == heading
            continue
        match = re.match(r"^- `([^`]+)`\s*(?:[-—:]\s*)?(.*)$", line) if inside else None
        if match:
            found.append((match.group(1), match.group(2).strip()))
    return found
