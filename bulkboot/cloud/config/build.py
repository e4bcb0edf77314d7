"""One cloud's settings -> a checked ``CloudConfig``: region, auth type, TLS, requirements.

openstacksdk's rules for a cloud entry: the region's values laid over the cloud's,
``auth:`` winning over the settings beside it except for project and domain settings,
legacy spellings accepted, and each auth type's required settings checked before
anything is sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from bulkboot.cloud.config.files import Positions, normalize
from bulkboot.cloud.config.gather import Setting, dotted, flatten, kind, merge_entry, shown
from bulkboot.cloud.config.model import AuthType, CloudConfig
from bulkboot.cloud.redact import redact_url
from bulkboot.errors import ConfigError

__all__ = ["build_cloud"]

_MAX_API_TIMEOUT = 86_400.0  # a day: longer is a typo, and inf breaks aiohttp's timer
_AUTH_TYPES: Final[Mapping[str, AuthType]] = {
    "password": "password",
    "v3password": "password",
    "v3applicationcredential": "application_credential",
    "applicationcredential": "application_credential",
    "application_credential": "application_credential",
    "token": "token",
    "v3token": "token",
    "none": "none",
    "noauth": "none",
}
_INTERFACES: Final = {
    "public": "public",
    "publicurl": "public",
    "internal": "internal",
    "internalurl": "internal",
    "admin": "admin",
    "adminurl": "admin",
}
# Settings that openstacksdk takes from beside ``auth:`` in preference to inside it,
# with the legacy spellings it still accepts (``_fix_backwards_auth``).
_OUTSIDE_WINS: Final[Mapping[str, tuple[str, ...]]] = {
    "project_id": ("tenant_id", "project_id"),
    "project_name": ("tenant_name", "project_name"),
    "domain_id": ("domain_id",),
    "domain_name": ("domain_name",),
    "user_domain_id": ("user_domain_id",),
    "user_domain_name": ("user_domain_name",),
    "project_domain_id": ("project_domain_id",),
    "project_domain_name": ("project_domain_name",),
    "token": ("auth_token", "token"),
}
_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})


class _Entry:
    """One cloud's settings, with the lookups and checks that turn them into fields."""

    def __init__(self, name: str, anchor: str, settings: Mapping[str, Setting]) -> None:
        self.name = name
        self.anchor = anchor
        self.settings = settings
        self.from_environment = anchor == "environment"

    def label(self, key: str) -> str:
        setting = self.settings.get(key)
        if setting is not None and setting.label:
            return setting.label
        if self.from_environment:
            return "OS_" + key.removeprefix("auth.").upper()
        return f"clouds.{self.name}.{key}"

    def find(self, key: str, *, aliases: Sequence[str] = ()) -> tuple[str, Setting] | None:
        """A setting by its name; ``auth:`` wins but for project and domain settings."""
        names = tuple(aliases) or (key,)
        if key in _OUTSIDE_WINS:
            # openstacksdk's _fix_backwards_auth: the last spelling listed wins, and for
            # one spelling the value beside ``auth:`` beats the one inside it.
            order = [c for n in reversed(names) for c in (n, f"auth.{n}")]
        else:
            order = [f"auth.{n}" for n in names] + list(names)
        for candidate in order:
            found = self.settings.get(candidate)
            if found is not None and found.value is not None and found.value != "":
                return candidate, found
        return None

    def text(self, key: str, *, aliases: Sequence[str] = ()) -> str | None:
        found = self.find(key, aliases=aliases)
        if found is None:
            return None
        where, setting = found
        if isinstance(setting.value, bool) or not isinstance(setting.value, str | int | float):
            raise ConfigError(
                f"{setting.origin}: {self.label(where)}: expected text, got {kind(setting.value)}"
            )
        return str(setting.value)

    def url(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            usable = False
        if not usable:
            where, setting = self.find(key) or (key, Setting(value, self.anchor))
            raise ConfigError(
                f"{setting.origin}: {self.label(where)}: expected an http:// or https:// "
                f"URL, got {shown(redact_url(value))}"
            )
        return value.rstrip("/")

    def flag(self, key: str) -> bool | None:
        found = self.find(key)
        if found is None:
            return None
        where, setting = found
        value = setting.value
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(
            f"{setting.origin}: {self.label(where)}: expected true or false, got {shown(value)}"
        )

    def existing_file(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        path = os.path.expanduser(value)
        if not os.path.isfile(path):
            where, setting = self.find(key) or (key, Setting(value, self.anchor))
            raise ConfigError(f"{setting.origin}: {self.label(where)}: no such file: {path}")
        return path

    def missing(self, what: str, needs: str) -> ConfigError:
        label = "OS_" + what.upper() if self.from_environment else f"auth.{what}"
        return ConfigError(f"{self.anchor}: cloud {self.name!r}: {label} is missing ({needs})")


def _select_region(
    entry: dict[str, Setting], name: str, anchor: str, wanted: str | None
) -> tuple[str | None, dict[str, Setting]]:
    """Pick the region (``regions:`` list or ``region_name``) and lay its values over.

    Messages name the key that is wrong and never echo a region entry: its ``values``
    may hold a password.
    """
    regions_setting = entry.get("regions")
    if regions_setting is None:
        region_setting = entry.get("region_name")
        written = region_setting.value if region_setting is not None else None
        if region_setting is not None and written is not None and not isinstance(written, str):
            raise ConfigError(
                f"{region_setting.origin}: {region_setting.label or 'region_name'}: expected "
                f"a region name (text), got {kind(written)}"
            )
        if isinstance(written, str) and "," in written:
            choices = [r.strip() for r in written.split(",") if r.strip()]
            if wanted and wanted not in choices:
                raise ConfigError(
                    f"{region_setting.origin if region_setting else anchor}: cloud {name!r}: "
                    f"region {wanted!r} is not one of its regions ({', '.join(choices)})"
                )
            return (wanted or choices[0]), entry
        return (wanted or written or None), entry
    raw = regions_setting.value
    label = regions_setting.label or f"clouds.{name}.regions"
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{regions_setting.origin}: {label}: expected a list of region names or "
            f"{{name, values}} mappings, got {'an empty list' if raw == [] else kind(raw)}"
        )
    positions = regions_setting.positions or Positions(regions_setting.origin)
    path = regions_setting.path

    def place(*keys: str) -> tuple[str, str]:
        here = path + keys
        return positions.at(here), dotted(here) if path else f"{label}.{'.'.join(keys)}"

    names: list[str] = []
    values_by_name: dict[str, tuple[Mapping[str, Any], tuple[str, ...]]] = {}
    for index, item in enumerate(raw):
        key = str(index)
        if isinstance(item, str):
            names.append(item)
            values_by_name[item] = ({}, path + (key,))
            continue
        if not isinstance(item, Mapping):
            where, what = place(key)
            raise ConfigError(
                f"{where}: {what}: expected a region name or a mapping with 'name' and "
                f"'values', got {kind(item)}"
            )
        unknown = sorted(str(k) for k in item if k not in ("name", "values"))
        if unknown:
            where, what = place(key, unknown[0])
            raise ConfigError(
                f"{where}: {what}: unknown key {unknown[0]!r}; a region mapping has only "
                f"'name' and 'values'"
            )
        if not isinstance(item.get("name"), str) or not item["name"]:
            where, what = place(key, "name") if "name" in item else place(key)
            raise ConfigError(
                f"{where}: {what}: expected the region's name (text), got "
                f"{kind(item.get('name')) if 'name' in item else 'no name'}"
            )
        values = item.get("values") or {}
        if not isinstance(values, Mapping):
            where, what = place(key, "values")
            raise ConfigError(
                f"{where}: {what}: expected a mapping of settings, got {kind(values)}"
            )
        names.append(item["name"])
        values_by_name[item["name"]] = (values, path + (key, "values"))
    chosen = wanted or names[0]
    if chosen not in values_by_name:
        raise ConfigError(
            f"{regions_setting.origin}: cloud {name!r}: region {chosen!r} is not one of its "
            f"regions ({', '.join(names)}); region names are case sensitive"
        )
    values, values_path = values_by_name[chosen]
    overlay = flatten(normalize(values), positions, values_path)
    return chosen, merge_entry(entry, overlay)


def build_cloud(
    name: str, anchor: str, raw: dict[str, Setting], region_wanted: str | None
) -> CloudConfig:
    """The checked ``CloudConfig`` of one cloud entry; ``ConfigError`` names what is wrong."""
    region_name, settings = _select_region(raw, name, anchor, region_wanted)
    entry = _Entry(name, anchor, settings)
    # In this order, so that of several wrong settings the same one is reported first.
    auth_type = _auth_type(entry)
    domain_id = entry.text("domain_id")
    domain_name = entry.text("domain_name")
    interface = _interface(entry)
    api_timeout = _api_timeout(entry)
    in_flight_window = _in_flight_window(entry)
    verify, cacert = _tls(entry)

    config = CloudConfig(
        name=name,
        source=anchor,
        auth_type=auth_type,
        auth_url=entry.url("auth_url"),
        username=entry.text("username", aliases=("username", "user_name")),
        user_id=entry.text("user_id"),
        user_domain_name=entry.text("user_domain_name") or domain_name,
        user_domain_id=entry.text("user_domain_id") or domain_id,
        password=entry.text("password"),
        project_name=entry.text("project_name", aliases=_OUTSIDE_WINS["project_name"]),
        project_id=entry.text("project_id", aliases=_OUTSIDE_WINS["project_id"]),
        project_domain_name=entry.text("project_domain_name") or domain_name,
        project_domain_id=entry.text("project_domain_id") or domain_id,
        application_credential_id=entry.text("application_credential_id"),
        application_credential_name=entry.text("application_credential_name"),
        application_credential_secret=entry.text("application_credential_secret"),
        token=entry.text("token", aliases=_OUTSIDE_WINS["token"]),
        region_name=region_name or None,
        interface=interface,
        compute_endpoint_override=entry.url("compute_endpoint_override"),
        image_endpoint_override=entry.url("image_endpoint_override"),
        network_endpoint_override=entry.url("network_endpoint_override"),
        verify=verify,
        cacert=cacert,
        cert=entry.existing_file("cert"),
        key=entry.existing_file("key"),
        api_timeout=api_timeout,
        in_flight_window=in_flight_window,
        compute_api_version=entry.text("compute_api_version"),
    )
    _check_required(config, entry)
    return config


def _auth_type(entry: _Entry) -> AuthType:
    written = entry.text("auth_type", aliases=("auth_type", "auth_plugin"))
    if written is None:
        # openstacksdk defaults to password; what else the entry holds says more.
        if entry.find("application_credential_secret"):
            written = "v3applicationcredential"
        elif entry.find("token") and not entry.find("password"):
            written = "token"
        else:
            written = "password"
    auth_type = _AUTH_TYPES.get(written.strip().lower())
    if auth_type is None:
        found = entry.find("auth_type", aliases=("auth_type", "auth_plugin"))
        origin = found[1].origin if found else entry.anchor
        label = entry.label(found[0]) if found else "auth_type"
        raise ConfigError(
            f"{origin}: {label}: auth_type {shown(written)} is not supported; expected "
            f"password, v3password, v3applicationcredential, token, v3token or none"
        )
    return auth_type


def _interface(entry: _Entry) -> str:
    written = entry.text("interface", aliases=("interface", "endpoint_type"))
    if written is None:
        return "public"
    normal = _INTERFACES.get(written.strip().lower())
    if normal is None:
        where, setting = entry.find("interface", aliases=("interface", "endpoint_type")) or (
            "interface",
            Setting(written, entry.anchor),
        )
        raise ConfigError(
            f"{setting.origin}: {entry.label(where)}: expected public, internal or "
            f"admin, got {shown(written)}"
        )
    return normal


def _api_timeout(entry: _Entry) -> float | None:
    written = entry.text("api_timeout", aliases=("api_timeout", "timeout"))
    if written is None:
        return None
    try:
        seconds = float(written)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= _MAX_API_TIMEOUT:
        where, setting = entry.find("api_timeout", aliases=("api_timeout", "timeout")) or (
            "api_timeout",
            Setting(written, entry.anchor),
        )
        raise ConfigError(
            f"{setting.origin}: {entry.label(where)}: expected a positive number of "
            f"seconds (a day at most), got {shown(written)}"
        )
    return seconds


def _in_flight_window(entry: _Entry) -> float | None:
    """bulkboot's ``in_flight_window``: seconds Nova may still act on a create sent and
    never answered (docs/apply.md, "What is promised")."""
    written = entry.text("in_flight_window")
    if written is None:
        return None
    try:
        seconds = float(written)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= _MAX_API_TIMEOUT:
        found = entry.find("in_flight_window")
        origin = found[1].origin if found else entry.anchor
        where = found[0] if found else "in_flight_window"
        raise ConfigError(
            f"{origin}: {entry.label(where)}: expected a positive number of "
            f"seconds (a day at most), got {shown(written)}"
        )
    return seconds


def _tls(entry: _Entry) -> tuple[bool, str | None]:
    """``(verify, cacert)`` from ``insecure``, ``verify`` (a flag or a CA bundle), ``cacert``."""
    insecure = entry.flag("insecure")
    verify_found = entry.find("verify")
    verify = True
    cacert = entry.existing_file("cacert")
    if verify_found is not None:
        value = verify_found[1].value
        if isinstance(value, str) and value.strip().lower() not in _TRUE | _FALSE:
            cacert = entry.existing_file("verify")  # a CA bundle path, as requests reads it
        else:
            verify = bool(entry.flag("verify"))
    if insecure:
        verify = False  # the most aggressive setting wins, as in openstacksdk
    return verify, cacert


def _check_required(config: CloudConfig, entry: _Entry) -> None:
    """Each auth type's required settings, named as the user would write them."""
    kind = config.auth_type
    if kind == "none":
        if config.compute_endpoint_override is None:
            raise ConfigError(
                f"{entry.anchor}: cloud {entry.name!r}: auth_type none needs "
                f"compute_endpoint_override (there is no Keystone catalog to find Nova in)"
            )
        return
    if config.auth_url is None:
        raise entry.missing("auth_url", f"auth_type {kind} needs Keystone's URL")
    if kind == "password":
        if config.username is None and config.user_id is None:
            raise entry.missing("username", "auth_type password needs username or user_id")
        if config.password is None:
            raise entry.missing("password", "auth_type password needs a password")
        if config.user_id is None and not (config.user_domain_name or config.user_domain_id):
            raise entry.missing(
                "user_domain_name",
                "a user given by name needs user_domain_name or user_domain_id",
            )
    elif kind == "application_credential":
        if config.application_credential_secret is None:
            raise entry.missing(
                "application_credential_secret", "auth_type v3applicationcredential needs it"
            )
        if config.application_credential_id is None:
            if config.application_credential_name is None:
                raise entry.missing(
                    "application_credential_id",
                    "give application_credential_id, or its name with the user",
                )
            if config.user_id is None and not (
                config.username and (config.user_domain_name or config.user_domain_id)
            ):
                raise entry.missing(
                    "user_id",
                    "an application credential given by name needs user_id, or username "
                    "with user_domain_name",
                )
    elif kind == "token" and config.token is None:
        raise entry.missing("token", "auth_type token needs the token")
    if (
        kind != "application_credential"
        and config.project_id is None
        and config.project_name is not None
        and not (config.project_domain_name or config.project_domain_id)
    ):
        raise entry.missing(
            "project_domain_name",
            "a project given by name needs project_domain_name or project_domain_id",
        )
