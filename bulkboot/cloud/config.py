"""clouds.yaml, secure.yaml and ``OS_*`` variables -> one ``CloudConfig``, as openstacksdk does.

The rules are openstacksdk's (``openstack/config/loader.py``), so a cloud that works with
``openstack --os-cloud NAME`` works here; docs/clouds.md has the full table.

1. Files. ``clouds.yaml`` (also ``.yml``, ``.json``) is looked for in
   ``$OS_CLIENT_CONFIG_FILE``, the current folder, the user's config folder
   (``$XDG_CONFIG_HOME/openstack``, ``~/.config/openstack``) and ``/etc/openstack``;
   the first one found is the only one read. ``secure.yaml`` is found the same way
   (``$OS_CLIENT_SECURE_FILE`` first) and merged over it, key by key.
2. The environment. ``OS_*`` variables make one more cloud, named ``envvars`` (or
   ``$OS_CLOUD_NAME``), unless they are only selectors (``OS_CLOUD``,
   ``OS_REGION_NAME``, ``OS_CLIENT_CONFIG_FILE``, ``OS_CLIENT_SECURE_FILE``,
   ``OS_CLOUD_NAME``). They do not leak into a cloud read from a file.
3. The cloud. The name given (``--cloud``, else the manifest's ``cloud:``), else
   ``$OS_CLOUD``, else the ``envvars`` cloud, else the only cloud in the file.
4. The region. ``$OS_REGION_NAME`` picks one of the cloud's ``regions:`` (else the
   first); the region's ``values`` override the cloud's own.
5. Within a cloud, auth settings may sit under ``auth:`` or beside it; ``auth:`` wins,
   except for project and domain settings, where the value beside it wins (as
   openstacksdk prefers them: they are where command-line overrides land).

Where bulkboot is stricter than openstacksdk: a clouds.yaml that does not parse is an
error (openstacksdk skips it with a warning), and so is a missing required setting,
an unknown ``auth_type`` or a ``cacert`` that does not exist -- each reported once, with
the file, line and key, before anything is sent.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import yaml

from bulkboot.errors import ConfigError

__all__ = [
    "AuthType",
    "CloudConfig",
    "config_from_mapping",
    "find_config_files",
    "load_cloud_config",
    "wants_embedded_simulator",
]

AuthType = Literal["password", "application_credential", "token", "none"]

EMBEDDED_SIMULATOR: Final = "simulator"
SYSTEM_DIRS: Final[tuple[Path, ...]] = (Path("/etc/xdg/openstack"), Path("/etc/openstack"))
_MAX_API_TIMEOUT = 86_400.0  # a day: longer is a typo, and inf breaks aiohttp's timer
_SUFFIXES: Final = (".yaml", ".yml", ".json")
_SELECTORS: Final = frozenset(
    {
        "OS_CLOUD",
        "OS_REGION_NAME",
        "OS_CLIENT_CONFIG_FILE",
        "OS_CLIENT_SECURE_FILE",
        "OS_CLOUD_NAME",
    }
)
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


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudConfig:
    """Everything needed to reach one cloud; secrets are kept out of ``repr``.

    ``auth_type`` is normalised (``v3password`` -> ``password`` ...). ``verify`` is
    False only when the user turned verification off; ``cacert`` is a file path.
    ``source`` says where the cloud came from (a file, or "environment"), for messages.
    """

    name: str
    source: str
    auth_type: AuthType
    auth_url: str | None = None
    username: str | None = None
    user_id: str | None = None
    user_domain_name: str | None = None
    user_domain_id: str | None = None
    password: str | None = field(default=None, repr=False)
    project_name: str | None = None
    project_id: str | None = None
    project_domain_name: str | None = None
    project_domain_id: str | None = None
    application_credential_id: str | None = None
    application_credential_name: str | None = None
    application_credential_secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    region_name: str | None = None
    interface: str = "public"
    compute_endpoint_override: str | None = None
    image_endpoint_override: str | None = None
    network_endpoint_override: str | None = None
    verify: bool = True
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    api_timeout: float | None = None
    compute_api_version: str | None = None

    @property
    def user_label(self) -> str:
        """Who we authenticate as, for messages (never a secret)."""
        if self.auth_type == "application_credential":
            ident = self.application_credential_name or self.application_credential_id
            return f"application credential {ident!r}"
        if self.auth_type == "token":
            return "a given token"
        if self.auth_type == "none":
            return "nobody (auth_type none)"
        return repr(self.username or self.user_id or "")

    def endpoint_override(self, service_type: str) -> str | None:
        """The configured ``<service>_endpoint_override`` for compute, image or network."""
        return {
            "compute": self.compute_endpoint_override,
            "image": self.image_endpoint_override,
            "network": self.network_endpoint_override,
        }.get(service_type)


# ------------------------------------------------------------------ reading files


@dataclass(frozen=True, slots=True)
class _Setting:
    """One raw value and where it was written (``FILE:LINE:COL`` or ``OS_NAME``).

    A file's settings also keep their key path (``label`` shows it, as
    ``clouds.c.regions[0].values.auth.auth_url``) and, for ``regions``, the document's
    positions, so that a region's values are placed as precisely as the cloud's own.
    """

    value: Any
    origin: str
    label: str | None = None
    positions: _Positions | None = None
    path: tuple[str, ...] = ()


class _Positions:
    """``FILE:LINE:COL`` of every key in a YAML document, by its key path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.marks: dict[tuple[str, ...], str] = {}

    def record(self, node: yaml.Node, prefix: tuple[str, ...] = ()) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = str(key_node.value)
                if prefix != ("clouds",):  # cloud names are kept as written
                    key = key.replace("-", "_")
                here = prefix + (key,)
                self._mark(here, key_node)
                self.record(value_node, here)
        elif isinstance(node, yaml.SequenceNode) and prefix[-1:] == ("regions",):
            # only a cloud's regions: other lists hold no settings (and may be aliases)
            for index, item in enumerate(node.value):
                here = prefix + (str(index),)
                self._mark(here, item)
                self.record(item, here)

    def _mark(self, keys: tuple[str, ...], node: yaml.Node) -> None:
        mark = node.start_mark
        self.marks[keys] = f"{self.path}:{mark.line + 1}:{mark.column + 1}"

    def at(self, keys: tuple[str, ...]) -> str:
        while keys:
            found = self.marks.get(keys)
            if found is not None:
                return found
            keys = keys[:-1]
        return self.path


@dataclass(frozen=True, slots=True)
class _Document:
    path: str
    data: dict[str, Any]
    positions: _Positions


def _read_document(path: Path) -> _Document | None:
    """Parse one config file; None when it cannot be read (openstacksdk skips EACCES)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        if exc.errno == errno.EACCES:
            return None
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    positions = _Positions(str(path))
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, path)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a clouds.yaml") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is not None:
        positions.record(node)
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        raise ConfigError(f"{path}: expected a mapping with a 'clouds' key, got {got}")
    return _Document(str(path), _normalize(data), positions)


_MAX_VALUES = 100_000  # a clouds.yaml holds hundreds; aliases can multiply them


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse a document whose aliases make a loop (a mapping holding an alias of itself)
    or expand past ``_MAX_VALUES`` values ("billion laughs"): each setting is copied
    where it is used, and neither would ever finish."""
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    seen = 0
    while stack:
        node, done = stack.pop()
        if done:
            on_path.discard(id(node))
            continue
        seen += 1
        if seen > _MAX_VALUES:
            raise ConfigError(f"{path}: its aliases expand to over {_MAX_VALUES:,} values")
        if id(node) in on_path:
            mark = node.start_mark
            raise ConfigError(
                f"{path}:{mark.line + 1}:{mark.column + 1}: this value holds an alias of "
                "itself (a loop)"
            )
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))


def _normalize(data: Mapping[Any, Any], *, names: bool = False) -> dict[str, Any]:
    """Keys as openstacksdk reads them: ``-`` and ``_`` are the same (not in cloud names)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key) if names else str(key).replace("-", "_")
        if isinstance(value, Mapping):
            out[name] = _normalize(value, names=name == "clouds" and not names)
        else:
            out[name] = value
    return out


def _search_dirs(environ: Mapping[str, str], cwd: Path) -> list[Path]:
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    dirs = [cwd]
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        dirs.append(Path(xdg) / "openstack")
    dirs.append(home / ".config" / "openstack")
    return dirs


def find_config_files(
    environ: Mapping[str, str],
    cwd: Path,
    *,
    system_dirs: Sequence[Path] = SYSTEM_DIRS,
) -> tuple[list[Path], list[Path]]:
    """The clouds.yaml and secure.yaml candidates, in the order they are tried."""
    dirs = _search_dirs(environ, cwd) + list(system_dirs)
    clouds = [d / f"clouds{s}" for d in dirs for s in _SUFFIXES]
    secure = [d / f"secure{s}" for d in dirs for s in _SUFFIXES]
    if environ.get("OS_CLIENT_CONFIG_FILE"):
        clouds.insert(0, Path(environ["OS_CLIENT_CONFIG_FILE"]))
    if environ.get("OS_CLIENT_SECURE_FILE"):
        secure.insert(0, Path(environ["OS_CLIENT_SECURE_FILE"]))
    return clouds, secure


def _first_document(candidates: Sequence[Path]) -> _Document | None:
    for path in candidates:
        if path.is_file():
            document = _read_document(path)
            if document is not None:
                return document
    return None


# ------------------------------------------------------------------ the cloud set


@dataclass(frozen=True, slots=True)
class _Clouds:
    """Every cloud known: the file's (secure.yaml merged) and the environment's."""

    entries: dict[str, dict[str, _Setting]]  # cloud -> flattened "auth.x" / "x" -> setting
    anchors: dict[str, str]  # cloud -> where its entry starts
    default: str | None
    clouds_file: str | None
    searched: tuple[Path, ...]
    envvars_name: str


def _dotted(path: tuple[str, ...]) -> str:
    """A key path as written in messages: ``clouds.c.regions[0].values.auth.auth_url``."""
    text = ""
    for index, part in enumerate(path):
        if part.isdigit() and index and path[index - 1] == "regions":
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _flatten(
    data: Mapping[str, Any], positions: _Positions, prefix: tuple[str, ...]
) -> dict[str, _Setting]:
    """``{"auth": {"password": ..}}`` -> ``{"auth.password": _Setting}``; regions stay whole."""
    out: dict[str, _Setting] = {}
    for key, value in data.items():
        here = prefix + (key,)
        if key == "auth":
            if isinstance(value, Mapping):
                for auth_key, auth_value in value.items():
                    inner = here + (auth_key,)
                    out[f"auth.{auth_key}"] = _Setting(
                        auth_value, positions.at(inner), _dotted(inner)
                    )
                continue
            if value is not None:
                raise ConfigError(
                    f"{positions.at(here)}: {_dotted(here)}: expected a mapping of auth "
                    f"settings (auth_url, username, ...), got {_kind(value)}"
                )
        out[key] = _Setting(value, positions.at(here), _dotted(here), positions, here)
    return out


def _kind(value: Any) -> str:
    """What a value is, for messages that must not echo it (it may be a secret)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _shown(value: Any, limit: int = 80) -> str:
    """``repr`` of a non-secret value, cut short: a message is no place for a whole file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _merge_entry(base: dict[str, _Setting], over: Mapping[str, _Setting]) -> dict[str, _Setting]:
    merged = dict(base)
    merged.update(over)
    return merged


def _environment_cloud(environ: Mapping[str, str]) -> dict[str, _Setting] | None:
    keys = [
        k
        for k in environ
        if k.startswith("OS_") and not k.startswith(("OS_TEST", "OS_STD", "OS_LOG"))
    ]
    if not set(keys) - _SELECTORS:
        return None
    return {
        k.split("_", 1)[1].lower(): _Setting(environ[k], f"environment variable {k}") for k in keys
    }


def _gather(environ: Mapping[str, str], cwd: Path, system_dirs: Sequence[Path]) -> _Clouds:
    clouds_paths, secure_paths = find_config_files(environ, cwd, system_dirs=system_dirs)
    clouds_doc = _first_document(clouds_paths)
    secure_doc = _first_document(secure_paths)
    entries: dict[str, dict[str, _Setting]] = {}
    anchors: dict[str, str] = {}
    for document in (clouds_doc, secure_doc):
        if document is None:
            continue
        clouds = document.data.get("clouds", {})
        if not isinstance(clouds, Mapping):
            where = document.positions.at(("clouds",))
            raise ConfigError(f"{where}: clouds: expected a mapping of cloud names to settings")
        for name, entry in clouds.items():
            where = document.positions.at(("clouds", name))
            if not isinstance(entry, Mapping):
                raise ConfigError(f"{where}: clouds.{name}: expected a mapping of settings")
            flat = _flatten(entry, document.positions, ("clouds", name))
            if document is clouds_doc or name not in entries:
                anchors.setdefault(name, where)
            entries[name] = _merge_entry(entries.get(name, {}), flat)
    envvars_name = environ.get("OS_CLOUD_NAME") or "envvars"
    environment = _environment_cloud(environ)
    if environment is not None:
        if envvars_name in entries:
            raise ConfigError(
                f"{anchors[envvars_name]}: clouds.{envvars_name}: a cloud of this name is "
                f"defined, and OS_* environment variables make a cloud of the same name; "
                f"rename one of them (OS_CLOUD_NAME names the environment's cloud)"
            )
        entries[envvars_name] = environment
        anchors[envvars_name] = "environment"
    default = environ.get("OS_CLOUD") or None
    if default is None and environment is not None:
        default = envvars_name
    if default is None and len(entries) == 1:
        default = next(iter(entries))
    return _Clouds(
        entries=entries,
        anchors=anchors,
        default=default,
        clouds_file=clouds_doc.path if clouds_doc else None,
        searched=tuple(clouds_paths),
        envvars_name=envvars_name,
    )


# ------------------------------------------------------------------ one cloud


class _Entry:
    """One cloud's settings, with the lookups and checks that turn them into fields."""

    def __init__(self, name: str, anchor: str, settings: Mapping[str, _Setting]) -> None:
        self.name = name
        self.anchor = anchor
        self.settings = settings
        self.from_environment = anchor == "environment"

    def _label(self, key: str) -> str:
        setting = self.settings.get(key)
        if setting is not None and setting.label:
            return setting.label
        if self.from_environment:
            return "OS_" + key.removeprefix("auth.").upper()
        return f"clouds.{self.name}.{key}"

    def find(self, key: str, *, aliases: Sequence[str] = ()) -> tuple[str, _Setting] | None:
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
                f"{setting.origin}: {self._label(where)}: expected text, got {_kind(setting.value)}"
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
            where, setting = self.find(key) or (key, _Setting(value, self.anchor))
            raise ConfigError(
                f"{setting.origin}: {self._label(where)}: expected an http:// or https:// "
                f"URL, got {_shown(value)}"
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
            f"{setting.origin}: {self._label(where)}: expected true or false, got {_shown(value)}"
        )

    def existing_file(self, key: str) -> str | None:
        value = self.text(key)
        if value is None:
            return None
        path = os.path.expanduser(value)
        if not os.path.isfile(path):
            where, setting = self.find(key) or (key, _Setting(value, self.anchor))
            raise ConfigError(f"{setting.origin}: {self._label(where)}: no such file: {path}")
        return path

    def missing(self, what: str, needs: str) -> ConfigError:
        label = "OS_" + what.upper() if self.from_environment else f"auth.{what}"
        return ConfigError(f"{self.anchor}: cloud {self.name!r}: {label} is missing ({needs})")


def _select_region(
    entry: dict[str, _Setting], name: str, anchor: str, wanted: str | None
) -> tuple[str | None, dict[str, _Setting]]:
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
                f"a region name (text), got {_kind(written)}"
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
            f"{{name, values}} mappings, got {'an empty list' if raw == [] else _kind(raw)}"
        )
    positions = regions_setting.positions or _Positions(regions_setting.origin)
    path = regions_setting.path

    def place(*keys: str) -> tuple[str, str]:
        here = path + keys
        return positions.at(here), _dotted(here) if path else f"{label}.{'.'.join(keys)}"

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
                f"'values', got {_kind(item)}"
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
                f"{_kind(item.get('name')) if 'name' in item else 'no name'}"
            )
        values = item.get("values") or {}
        if not isinstance(values, Mapping):
            where, what = place(key, "values")
            raise ConfigError(
                f"{where}: {what}: expected a mapping of settings, got {_kind(values)}"
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
    overlay = _flatten(_normalize(values), positions, values_path)
    return chosen, _merge_entry(entry, overlay)


def _build(
    name: str, anchor: str, raw: dict[str, _Setting], region_wanted: str | None
) -> CloudConfig:
    region_name, settings = _select_region(raw, name, anchor, region_wanted)
    entry = _Entry(name, anchor, settings)

    auth_type_text = entry.text("auth_type", aliases=("auth_type", "auth_plugin"))
    if auth_type_text is None:
        # openstacksdk defaults to password; what else the entry holds says more.
        if entry.find("application_credential_secret"):
            auth_type_text = "v3applicationcredential"
        elif entry.find("token") and not entry.find("password"):
            auth_type_text = "token"
        else:
            auth_type_text = "password"
    auth_type = _AUTH_TYPES.get(auth_type_text.strip().lower())
    if auth_type is None:
        found = entry.find("auth_type", aliases=("auth_type", "auth_plugin"))
        origin = found[1].origin if found else anchor
        label = entry._label(found[0]) if found else "auth_type"
        raise ConfigError(
            f"{origin}: {label}: auth_type {_shown(auth_type_text)} is not supported; expected "
            f"password, v3password, v3applicationcredential, token, v3token or none"
        )

    domain_id = entry.text("domain_id")
    domain_name = entry.text("domain_name")
    interface_text = entry.text("interface", aliases=("interface", "endpoint_type"))
    interface = "public"
    if interface_text is not None:
        normal = _INTERFACES.get(interface_text.strip().lower())
        if normal is None:
            where, setting = entry.find("interface", aliases=("interface", "endpoint_type")) or (
                "interface",
                _Setting(interface_text, anchor),
            )
            raise ConfigError(
                f"{setting.origin}: {entry._label(where)}: expected public, internal or "
                f"admin, got {_shown(interface_text)}"
            )
        interface = normal

    timeout_text = entry.text("api_timeout", aliases=("api_timeout", "timeout"))
    api_timeout: float | None = None
    if timeout_text is not None:
        try:
            api_timeout = float(timeout_text)
        except ValueError:
            api_timeout = -1.0
        if not 0 < api_timeout <= _MAX_API_TIMEOUT:
            where, setting = entry.find("api_timeout", aliases=("api_timeout", "timeout")) or (
                "api_timeout",
                _Setting(timeout_text, anchor),
            )
            raise ConfigError(
                f"{setting.origin}: {entry._label(where)}: expected a positive number of "
                f"seconds (a day at most), got {_shown(timeout_text)}"
            )

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
        compute_api_version=entry.text("compute_api_version"),
    )
    _check_required(config, entry)
    return config


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


# ------------------------------------------------------------------ public entry points


def _cloud_names(clouds: _Clouds) -> str:
    return ", ".join(sorted(clouds.entries)) or "none"


def _named_file_missing(environ: Mapping[str, str]) -> str:
    """A note for "not found" messages when ``OS_CLIENT_CONFIG_FILE`` names no file.

    openstacksdk skips such a file silently; the user set the variable for a reason,
    so when the cloud is then not found, say why.
    """
    named = environ.get("OS_CLIENT_CONFIG_FILE")
    if not named or Path(named).is_file():
        return ""
    return f"; OS_CLIENT_CONFIG_FILE names {named}, which is not a file"


def load_cloud_config(
    name: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    system_dirs: Sequence[Path] = SYSTEM_DIRS,
) -> CloudConfig:
    """The named cloud (or the default one) as openstacksdk would resolve it.

    ``name`` is ``--cloud``, else the manifest's ``cloud:`` (the caller picks); None
    falls back to ``OS_CLOUD``, the environment's cloud, or the file's only cloud.
    Raises ``ConfigError`` naming the file, line and key of anything wrong.
    """
    env = os.environ if environ is None else environ
    clouds = _gather(env, cwd if cwd is not None else Path.cwd(), system_dirs)
    chosen = name or clouds.default
    named = _named_file_missing(env)
    if chosen is None:
        if not clouds.entries:
            raise ConfigError(
                "no cloud configured: no clouds.yaml found (looked in "
                f"{', '.join(dict.fromkeys(str(p.parent) for p in clouds.searched))}) and no "
                "OS_AUTH_URL or other OS_* variables set; give --cloud simulator to try "
                f"the embedded simulator{named}"
            )
        raise ConfigError(
            f"{clouds.clouds_file}: several clouds ({_cloud_names(clouds)}) and none chosen: "
            f"give --cloud NAME, the manifest's cloud:, or OS_CLOUD"
        )
    raw = clouds.entries.get(chosen)
    if raw is None:
        if clouds.clouds_file is None:
            folders = ", ".join(dict.fromkeys(str(p.parent) for p in clouds.searched))
            raise ConfigError(
                f"cloud {chosen!r} is not defined: no clouds.yaml found (looked in "
                f"{folders})"
                + (
                    f"; the environment defines cloud {clouds.envvars_name!r}"
                    if clouds.envvars_name in clouds.entries
                    else ""
                )
                + named
            )
        raise ConfigError(
            f"{clouds.clouds_file}: cloud {chosen!r} is not defined "
            f"(clouds: {_cloud_names(clouds)}){named}"
        )
    return _build(chosen, clouds.anchors[chosen], raw, env.get("OS_REGION_NAME") or None)


def config_from_mapping(
    clouds_yaml: Mapping[str, Any], name: str, *, source: str = "<embedded>"
) -> CloudConfig:
    """A ``CloudConfig`` from an in-memory clouds.yaml mapping (the embedded simulator's)."""
    positions = _Positions(source)
    data = _normalize(clouds_yaml)
    entry = data.get("clouds", {}).get(name)
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{source}: cloud {name!r} is not defined")
    flat = _flatten(entry, positions, ("clouds", name))
    return _build(name, source, flat, None)


def wants_embedded_simulator(
    name: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    system_dirs: Sequence[Path] = SYSTEM_DIRS,
) -> bool:
    """True when the cloud asked for (``name``, else ``OS_CLOUD``) is "simulator" and no
    clouds.yaml defines a cloud of that name.

    Then the command starts the embedded simulator instead of reading a config.
    """
    env = os.environ if environ is None else environ
    if (name if name is not None else env.get("OS_CLOUD")) != EMBEDDED_SIMULATOR:
        return False
    clouds = _gather(env, cwd if cwd is not None else Path.cwd(), system_dirs)
    return EMBEDDED_SIMULATOR not in clouds.entries
