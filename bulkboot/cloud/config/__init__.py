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

The package: ``model`` (``CloudConfig``), ``files`` (finding and reading the files,
with positions), ``gather`` (every cloud known, from the files and the environment),
``build`` (one cloud's settings to a checked ``CloudConfig``); the entry points are here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bulkboot.cloud.config.build import build_cloud
from bulkboot.cloud.config.files import SYSTEM_DIRS, Positions, find_config_files, normalize
from bulkboot.cloud.config.gather import Clouds, flatten, gather
from bulkboot.cloud.config.model import EMBEDDED_SIMULATOR, AuthType, CloudConfig
from bulkboot.errors import ConfigError

__all__ = [
    "AuthType",
    "CloudConfig",
    "config_from_mapping",
    "find_config_files",
    "load_cloud_config",
    "wants_embedded_simulator",
]


def _cloud_names(clouds: Clouds) -> str:
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
    clouds = gather(env, cwd if cwd is not None else Path.cwd(), system_dirs)
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
    return build_cloud(chosen, clouds.anchors[chosen], raw, env.get("OS_REGION_NAME") or None)


def config_from_mapping(
    clouds_yaml: Mapping[str, Any], name: str, *, source: str = "<embedded>"
) -> CloudConfig:
    """A ``CloudConfig`` from an in-memory clouds.yaml mapping (the embedded simulator's)."""
    positions = Positions(source)
    data = normalize(clouds_yaml)
    entry = data.get("clouds", {}).get(name)
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{source}: cloud {name!r} is not defined")
    flat = flatten(entry, positions, ("clouds", name))
    return build_cloud(name, source, flat, None)


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
    clouds = gather(env, cwd if cwd is not None else Path.cwd(), system_dirs)
    return EMBEDDED_SIMULATOR not in clouds.entries
