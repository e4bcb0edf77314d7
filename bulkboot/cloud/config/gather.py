"""Every cloud known: clouds.yaml's, secure.yaml's merged over them, and the environment's.

Each setting keeps where it was written (``FILE:LINE:COL`` and its key path, or the
``OS_*`` variable), so that building a cloud can name the place of any wrong value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bulkboot.cloud.config.files import Positions, find_config_files, first_document
from bulkboot.errors import ConfigError

__all__ = [
    "Clouds",
    "Setting",
    "dotted",
    "flatten",
    "gather",
    "kind",
    "merge_entry",
    "shown",
]

_SELECTORS: Final = frozenset(
    {
        "OS_CLOUD",
        "OS_REGION_NAME",
        "OS_CLIENT_CONFIG_FILE",
        "OS_CLIENT_SECURE_FILE",
        "OS_CLOUD_NAME",
    }
)


@dataclass(frozen=True, slots=True)
class Setting:
    """One raw value and where it was written (``FILE:LINE:COL`` or ``OS_NAME``).

    A file's settings also keep their key path (``label`` shows it, as
    ``clouds.c.regions[0].values.auth.auth_url``) and, for ``regions``, the document's
    positions, so that a region's values are placed as precisely as the cloud's own.
    """

    value: Any
    origin: str
    label: str | None = None
    positions: Positions | None = None
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Clouds:
    """Every cloud known: the file's (secure.yaml merged) and the environment's."""

    entries: dict[str, dict[str, Setting]]  # cloud -> flattened "auth.x" / "x" -> setting
    anchors: dict[str, str]  # cloud -> where its entry starts
    default: str | None
    clouds_file: str | None
    searched: tuple[Path, ...]
    envvars_name: str


def dotted(path: tuple[str, ...]) -> str:
    """A key path as written in messages: ``clouds.c.regions[0].values.auth.auth_url``."""
    text = ""
    for index, part in enumerate(path):
        if part.isdigit() and index and path[index - 1] == "regions":
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def flatten(
    data: Mapping[str, Any], positions: Positions, prefix: tuple[str, ...]
) -> dict[str, Setting]:
    """``{"auth": {"password": ..}}`` -> ``{"auth.password": Setting}``; regions stay whole."""
    out: dict[str, Setting] = {}
    for key, value in data.items():
        here = prefix + (key,)
        if key == "auth":
            if isinstance(value, Mapping):
                for auth_key, auth_value in value.items():
                    inner = here + (auth_key,)
                    out[f"auth.{auth_key}"] = Setting(
                        auth_value, positions.at(inner), dotted(inner)
                    )
                continue
            if value is not None:
                raise ConfigError(
                    f"{positions.at(here)}: {dotted(here)}: expected a mapping of auth "
                    f"settings (auth_url, username, ...), got {kind(value)}"
                )
        out[key] = Setting(value, positions.at(here), dotted(here), positions, here)
    return out


def kind(value: Any) -> str:
    """What a value is, for messages that must not echo it (it may be a secret)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def shown(value: Any, limit: int = 80) -> str:
    """``repr`` of a non-secret value, cut short: a message is no place for a whole file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def merge_entry(base: dict[str, Setting], over: Mapping[str, Setting]) -> dict[str, Setting]:
    merged = dict(base)
    merged.update(over)
    return merged


def _environment_cloud(environ: Mapping[str, str]) -> dict[str, Setting] | None:
    keys = [
        k
        for k in environ
        if k.startswith("OS_") and not k.startswith(("OS_TEST", "OS_STD", "OS_LOG"))
    ]
    if not set(keys) - _SELECTORS:
        return None
    return {
        k.split("_", 1)[1].lower(): Setting(environ[k], f"environment variable {k}") for k in keys
    }


def gather(environ: Mapping[str, str], cwd: Path, system_dirs: Sequence[Path]) -> Clouds:
    clouds_paths, secure_paths = find_config_files(environ, cwd, system_dirs=system_dirs)
    clouds_doc = first_document(clouds_paths)
    secure_doc = first_document(secure_paths)
    entries: dict[str, dict[str, Setting]] = {}
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
            flat = flatten(entry, document.positions, ("clouds", name))
            if document is clouds_doc or name not in entries:
                anchors.setdefault(name, where)
            entries[name] = merge_entry(entries.get(name, {}), flat)
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
    return Clouds(
        entries=entries,
        anchors=anchors,
        default=default,
        clouds_file=clouds_doc.path if clouds_doc else None,
        searched=tuple(clouds_paths),
        envvars_name=envvars_name,
    )
