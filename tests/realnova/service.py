"""The real nova-api that ``.ci/nova start`` runs, as the tests see it.

``.ci/nova start`` prints ``export BULKBOOT_NOVA_*=...`` lines; ``.ci/run`` evals them and
sets ``BULKBOOT_REQUIRE_NOVA=1``. Tests that need Nova call :func:`require_nova`: without
the variables they are skipped on a developer's machine, but FAIL in CI, so a nova-api
that did not start can never pass as green. See docs/nova-ci.md.

Keystone is stubbed in that cloud: bulkboot reaches it with ``auth_type: none`` and
``compute_endpoint_override``. A request without identity headers acts as a member of
the project; :meth:`NovaService.call` can act as the admin instead.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

__all__ = ["NovaService", "require_nova"]

PREFIX = "BULKBOOT_NOVA_"
REQUIRE = "BULKBOOT_REQUIRE_NOVA"
HOW_TO_START = 'eval "$(.ci/nova start)"  (and .ci/nova stop afterwards)'

# What the stubbed Keystone makes of the identity headers: X-Auth-User "admin" is admin.
ADMIN_HEADERS = {"X-Auth-User": "admin", "X-User-Id": "admin", "X-Roles": "admin,member,reader"}


@dataclass(frozen=True, slots=True, kw_only=True)
class NovaService:
    """One running nova-api and the fixture data of its cloud."""

    url: str  # the compute endpoint, ending in /v2.1
    admin_url: str  # the same API below /admin: every request acts as the project's admin
    version: str  # nova's release (34.0.0)
    max_microversion: str  # the newest microversion it announces (2.104)
    project_id: str
    image_id: str
    network_id: str
    flavor_id: str
    flavor_name: str
    volume_id: str  # a bootable volume of the Cinder fixture
    snapshot_id: str  # a snapshot of that volume
    port_id: str  # a port of the Neutron fixture on the network
    venv_python: Path  # the interpreter nova is installed in (to read nova's own modules)
    computes: int
    run_dir: Path  # its logs: nova.log, access.log (one line per request)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> NovaService | None:
        """The service the environment describes; None when ``BULKBOOT_NOVA_URL`` is unset.

        Raises ``LookupError`` naming every missing variable when the set is incomplete.
        """
        if not environ.get(PREFIX + "URL"):
            return None
        names = {
            "url": "URL",
            "admin_url": "ADMIN_URL",
            "version": "VERSION",
            "max_microversion": "MAX_MICROVERSION",
            "project_id": "PROJECT_ID",
            "image_id": "IMAGE_ID",
            "network_id": "NETWORK_ID",
            "flavor_id": "FLAVOR_ID",
            "flavor_name": "FLAVOR_NAME",
            "volume_id": "VOLUME_ID",
            "snapshot_id": "SNAPSHOT_ID",
            "port_id": "PORT_ID",
            "venv_python": "VENV_PYTHON",
            "computes": "COMPUTES",
            "run_dir": "DIR",
        }
        missing = [PREFIX + v for v in names.values() if not environ.get(PREFIX + v)]
        if missing:
            raise LookupError(
                "BULKBOOT_NOVA_URL is set but these are not: "
                + ", ".join(missing)
                + f"; export everything `.ci/nova start` prints ({HOW_TO_START})"
            )
        values: dict[str, Any] = {attr: environ[PREFIX + var] for attr, var in names.items()}
        values["computes"] = int(values["computes"])
        values["run_dir"] = Path(values["run_dir"])
        values["venv_python"] = Path(values["venv_python"])
        return cls(**values)

    @property
    def access_log(self) -> Path:
        """eventlet.wsgi's log of every request nova-api answered, one line each."""
        return self.run_dir / "access.log"

    def requests_seen(self) -> list[str]:
        """The access log's request lines so far (``"POST /v2.1/servers HTTP/1.1"``)."""
        text = self.access_log.read_text(encoding="utf-8", errors="replace")
        return [line.split('"')[1] for line in text.splitlines() if line.count('"') >= 2]

    def count_settles(self, line: str, expected: int, timeout: float = 5.0) -> int:
        """How many times ``line`` is in the access log once it stops growing: the
        server writes a request's line after its answer, so a count taken right after
        an answer may not hold it yet. Waits for ``expected`` (at most ``timeout``),
        then a moment longer, so that one too many shows up too."""
        deadline = time.monotonic() + timeout
        while self.requests_seen().count(line) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        return self.requests_seen().count(line)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        microversion: str = "2.96",
        admin: bool = False,
        timeout: float = 30.0,
    ) -> tuple[int, Any]:
        """One request straight to nova-api (stdlib: no event loop, no bulkboot code):
        the status and the decoded body. For set-up, clean-up and checks that must not
        depend on the code under test."""
        headers = {"OpenStack-API-Version": f"compute {microversion}", "Accept": "application/json"}
        if admin:
            headers |= ADMIN_HEADERS
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        try:
            with direct.open(request, timeout=timeout) as response:
                status, raw = int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        return status, (json.loads(raw) if raw else None)

    def answers(self, timeout: float = 10.0) -> bool:
        """Whether nova-api answers ``GET /v2.1/`` with 200 now."""
        try:
            return self.call("GET", "/", timeout=timeout)[0] == 200
        except (urllib.error.URLError, OSError):
            return False

    def servers(self) -> list[dict[str, Any]]:
        """Every server of the project, DELETED ones included (one page: the tests'
        fleets are small)."""
        status, body = self.call("GET", "/servers/detail")
        assert status == 200, body
        return list(body["servers"])

    def fleet_servers(self, fleet: str) -> list[dict[str, Any]]:
        """The servers carrying the fleet mark ``bulkboot:fleet=FLEET``."""
        return [s for s in self.servers() if s.get("metadata", {}).get("bulkboot:fleet") == fleet]

    def wait_gone(self, ids: set[str], timeout: float = 60.0) -> None:
        """Until none of ``ids`` is listed; a server shown as DELETED (Nova lists it so
        for a moment before it disappears) counts as gone."""
        deadline = time.monotonic() + timeout
        while True:
            left = {s["id"] for s in self.servers() if s["id"] in ids and s["status"] != "DELETED"}
            if not left:
                return
            assert time.monotonic() < deadline, f"still listed after {timeout:.0f}s: {sorted(left)}"
            time.sleep(0.5)

    def delete_fleet(self, fleet: str) -> None:
        """Delete the fleet's servers straight through the API and wait until they are
        gone: a test's clean-up that holds whatever bulkboot did or failed to do."""
        ids = {s["id"] for s in self.fleet_servers(fleet) if s["status"] != "DELETED"}
        for server_id in ids:
            self.call("DELETE", f"/servers/{server_id}")
        self.wait_gone(ids)

    def write_clouds_yaml(self, folder: Path, name: str = "realnova") -> Path:
        """``folder/clouds.yaml`` with two clouds, no Keystone: ``name`` (a member of the
        project) and ``name-admin`` (its admin, through the /admin mount)."""
        clouds = {
            name: {"auth_type": "none", "compute_endpoint_override": self.url},
            f"{name}-admin": {"auth_type": "none", "compute_endpoint_override": self.admin_url},
        }
        path = folder / "clouds.yaml"
        path.write_text(yaml.safe_dump({"clouds": clouds}), encoding="utf-8")
        return path


def require_nova(environ: Mapping[str, str] | None = None) -> NovaService:
    """The running nova-api, or skip (a developer without one) / fail (CI, where
    ``BULKBOOT_REQUIRE_NOVA=1``, or variables that point at nothing)."""
    env = os.environ if environ is None else environ
    required = env.get(REQUIRE) == "1"
    try:
        service = NovaService.from_environ(env)
    except LookupError as exc:
        pytest.fail(str(exc), pytrace=False)
    if service is None:
        reason = f"no real Nova: BULKBOOT_NOVA_URL is unset; start one with {HOW_TO_START}"
        if required:
            pytest.fail(f"{REQUIRE}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    if not service.answers():
        pytest.fail(
            f"BULKBOOT_NOVA_URL={service.url} does not answer; is it still running? "
            f"({HOW_TO_START})",
            pytrace=False,
        )
    return service
