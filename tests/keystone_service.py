"""The real Keystone that ``.ci/keystone start`` runs, as the tests see it.

``.ci/keystone start`` prints ``export BULKBOOT_KEYSTONE_*=...`` lines; ``.ci/run`` evals
them and sets ``BULKBOOT_REQUIRE_KEYSTONE=1``. Tests that need Keystone call
:func:`require_keystone`: without the variables they are skipped on a developer's
machine, but FAIL in CI, so a Keystone that did not start can never pass as green.
See docs/keystone-ci.md.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

__all__ = ["KeystoneService", "require_keystone"]

PREFIX = "BULKBOOT_KEYSTONE_"
REQUIRE = "BULKBOOT_REQUIRE_KEYSTONE"
HOW_TO_START = 'eval "$(.ci/keystone start)"  (and .ci/keystone stop afterwards)'


@dataclass(frozen=True, slots=True, kw_only=True)
class KeystoneService:
    """One running Keystone and the identities ``.ci/keystone`` made in it.

    Secrets stay out of ``repr`` so that an assertion message cannot print them.
    """

    auth_url: str
    region: str
    username: str
    user_id: str
    user_domain: str
    password: str = field(repr=False)
    project_name: str
    project_id: str
    project_domain: str
    app_cred_id: str
    app_cred_name: str
    app_cred_secret: str = field(repr=False)
    compute_url: str
    compute_internal_url: str
    image_url: str
    token_expiration: int
    short_url: str  # a twin on the same db and keys whose tokens live short_expiration s
    short_expiration: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> KeystoneService | None:
        """The service the environment describes; None when ``BULKBOOT_KEYSTONE_URL`` is unset.

        Raises ``LookupError`` naming every missing variable when the set is incomplete.
        """
        if not environ.get(PREFIX + "URL"):
            return None
        names = {
            "auth_url": "URL",
            "region": "REGION",
            "username": "USERNAME",
            "user_id": "USER_ID",
            "user_domain": "USER_DOMAIN",
            "password": "ADMIN_PASSWORD",
            "project_name": "PROJECT",
            "project_id": "PROJECT_ID",
            "project_domain": "PROJECT_DOMAIN",
            "app_cred_id": "APP_CRED_ID",
            "app_cred_name": "APP_CRED_NAME",
            "app_cred_secret": "APP_CRED_SECRET",
            "compute_url": "COMPUTE_URL",
            "compute_internal_url": "COMPUTE_INTERNAL_URL",
            "image_url": "IMAGE_URL",
            "token_expiration": "TOKEN_EXPIRATION",
            "short_url": "SHORT_URL",
            "short_expiration": "SHORT_TOKEN_EXPIRATION",
        }
        missing = [PREFIX + v for v in names.values() if not environ.get(PREFIX + v)]
        if missing:
            raise LookupError(
                "BULKBOOT_KEYSTONE_URL is set but these are not: "
                + ", ".join(missing)
                + f"; export everything `.ci/keystone start` prints ({HOW_TO_START})"
            )
        values: dict[str, Any] = {attr: environ[PREFIX + var] for attr, var in names.items()}
        values["token_expiration"] = int(values["token_expiration"])
        values["short_expiration"] = int(values["short_expiration"])
        return cls(**values)

    @property
    def base_url(self) -> str:
        """Keystone's root (the auth URL without ``/v3``)."""
        return self.auth_url.removesuffix("/").removesuffix("/v3")

    def answers(self, timeout: float = 5.0) -> bool:
        """Whether both Keystones answer ``GET /v3`` with 200 now (stdlib: no event loop)."""
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        for url in (self.auth_url, self.short_url):
            try:
                with direct.open(url, timeout=timeout) as response:
                    if int(response.status) != 200:
                        return False
            except (urllib.error.URLError, OSError):
                return False
        return True

    def write_clouds_yaml(self, folder: Path, clouds: Mapping[str, Mapping[str, Any]]) -> Path:
        """Write ``folder/clouds.yaml`` holding ``clouds``; each entry's ``auth`` gets
        ``auth_url`` and each entry ``region_name``, unless given."""
        entries: dict[str, Any] = {}
        for name, entry in clouds.items():
            full = {"region_name": self.region, **entry}
            full["auth"] = {"auth_url": self.auth_url, **entry.get("auth", {})}
            entries[name] = full
        path = folder / "clouds.yaml"
        path.write_text(yaml.safe_dump({"clouds": entries}), encoding="utf-8")
        path.chmod(0o600)
        return path


def require_keystone(environ: Mapping[str, str] | None = None) -> KeystoneService:
    """The running Keystone, or skip (a developer without one) / fail (CI, where
    ``BULKBOOT_REQUIRE_KEYSTONE=1``, or variables that point at nothing)."""
    env = os.environ if environ is None else environ
    required = env.get(REQUIRE) == "1"
    try:
        service = KeystoneService.from_environ(env)
    except LookupError as exc:
        pytest.fail(str(exc), pytrace=False)
    if service is None:
        reason = f"no real Keystone: BULKBOOT_KEYSTONE_URL is unset; start one with {HOW_TO_START}"
        if required:
            pytest.fail(f"{REQUIRE}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    if not service.answers():
        pytest.fail(
            f"BULKBOOT_KEYSTONE_URL={service.auth_url} does not answer; is it still running? "
            f"({HOW_TO_START})",
            pytrace=False,
        )
    return service
