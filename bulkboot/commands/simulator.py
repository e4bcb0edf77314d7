"""``bulkboot simulator``: run the simulated cloud in the foreground until Ctrl-C/SIGTERM.

Prints the auth URL and a ready-to-paste clouds.yaml entry; ``--write-clouds-yaml
FILE`` writes a complete clouds.yaml (cloud ``simulator``) so that
``OS_CLIENT_CONFIG_FILE=FILE openstack --os-cloud simulator server list`` works. It
never replaces a clouds.yaml bulkboot did not write for the simulator without
``--force``; ``--merge`` adds the simulator's clouds to one (``_clouds_file``).
Every ``SimConfig`` knob is a flag (``--error-fraction 0.1``, ``--rate-limit 20``...);
the flags are generated from the dataclass so they cannot drift from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulkboot.errors import ConfigError, OutputError, UsageError
from bulkboot.simulator.config import SimConfig, SimConfigError

if TYPE_CHECKING:
    from bulkboot.commands._clouds_file import Mode

__all__ = ["config_from_args", "register", "run"]

DEFAULT_PORT = 8774  # Nova's own port, as people expect it

# One line of help per knob; a knob missing here fails the test that holds the table.
KNOB_HELP: dict[str, str] = {
    "seed": "seed of the RNG behind every fraction and build time (default: %(default)s)",
    "latency": "seconds added before every API answer",
    "jitter": "extra random delay, uniform in [0, JITTER] seconds",
    "create_queueing": "extra seconds on a create per other create in flight (an API "
    "that slows down under load)",
    "member_stagger": "seconds between the members of one multi-create appearing in "
    "listings before its answer (as Nova writes them one by one)",
    "build_time_mean": "mean seconds from create to ACTIVE (default: %(default)s)",
    "build_time_stddev": "standard deviation of the build time (default: %(default)s)",
    "error_fraction": "fraction of builds ending in ERROR 'No valid host was found.'",
    "never_finish_fraction": "fraction of builds that stay in BUILD forever",
    "delete_delay": "seconds from DELETE until the server is gone (default: %(default)s)",
    "scheduling_time": "seconds a new server is being scheduled; deleted then, it vanishes "
    "without a DELETED record, as in Nova (default: %(default)s)",
    "rate_limit": "requests per second before 429 (compute, image, network; default: none)",
    "rate_limit_retry_after": "send Retry-After with 429 answers",
    "conflict_fraction": "fraction of POST /servers answered 409 (port in use)",
    "error_500_fraction": "fraction of compute requests answered 500",
    "unavailable_fraction": "fraction of compute requests answered 503",
    "unavailable_retry_after": "send Retry-After: SECONDS with those 503 answers",
    "lost_response_fraction": "fraction of POST /servers whose server is created but whose "
    "connection is closed before the answer",
    "quota_instances": "instance quota, at most 1000000 (default: %(default)s)",
    "quota_cores": "vCPU quota (default: unlimited)",
    "quota_ram": "RAM quota in MB (default: unlimited)",
    "late_quota_fraction": "fraction of creates accepted (202) that then go to ERROR "
    "by Nova's quota recheck",
    "max_limit": "most servers in one list page, Nova's [api]max_limit (default: %(default)s)",
    "token_lifetime": "Keystone token lifetime in seconds (default: %(default)s)",
    "min_microversion": "lowest compute microversion served (default: %(default)s)",
    "max_microversion": "highest compute microversion served (default: %(default)s)",
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulator",
        help="run the embedded simulated OpenStack cloud in the foreground",
        description=(
            "Run an in-memory Keystone v3 + Nova (+ image and network look-ups) with "
            "configurable faults, until Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--write-clouds-yaml",
        metavar="FILE",
        type=Path,
        help="write a clouds.yaml with the cloud 'simulator' to FILE (mode 0600); an "
        "existing FILE is replaced only if bulkboot wrote it for the simulator",
    )
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--merge",
        action="store_true",
        help="with --write-clouds-yaml: add the simulator's clouds to an existing FILE, "
        "keeping its other clouds and its permissions (not its comments)",
    )
    existing.add_argument(
        "--force",
        action="store_true",
        help="with --write-clouds-yaml: replace FILE whatever it holds",
    )
    knobs = parser.add_argument_group("simulated behaviour and faults")
    defaults = SimConfig()
    types = typing.get_type_hints(SimConfig)
    for field in dataclasses.fields(SimConfig):
        default = getattr(defaults, field.name)
        kind = _value_type(types[field.name])
        if kind is bool:
            knobs.add_argument(
                _flag(field.name),
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=KNOB_HELP[field.name],
            )
            continue
        knobs.add_argument(
            _flag(field.name),
            dest=field.name,
            type=kind,
            default=default,
            metavar="SECONDS"
            if field.name.endswith("retry_after")
            else field.name.split("_")[-1].upper(),
            help=KNOB_HELP[field.name],
        )
    parser.set_defaults(run=run)


def _value_type(hint: Any) -> Callable[[str], Any]:
    """What a knob's flag reads its value as: the field's type (``float | None`` is a
    float: leaving the flag out is how to keep the None)."""
    kinds = [kind for kind in typing.get_args(hint) or (hint,) if kind is not type(None)]
    if len(kinds) != 1 or kinds[0] not in (bool, int, float, str):
        raise TypeError(f"SimConfig field of type {hint} has no flag type")
    kind: Callable[[str], Any] = kinds[0]
    return kind


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The SimConfig the flags describe; a bad value is a UsageError naming its flag."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SimConfig)}
    try:
        return SimConfig(**values)
    except SimConfigError as exc:
        raise UsageError(f"{_flag(exc.field)}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bulkboot.commands._clouds_file import plan_write

    config = config_from_args(args)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is not a port number (0 to 65535)")
    clouds: tuple[Path, Mode] | None = None
    if args.write_clouds_yaml is not None:  # refused before the simulator starts
        path = args.write_clouds_yaml
        clouds = (path, plan_write(path, names=CLOUDS, force=args.force, merge=args.merge))
    elif args.force or args.merge:
        raise UsageError("--force and --merge go with --write-clouds-yaml FILE")
    try:
        asyncio.run(_serve(config, args.host, args.port, clouds))
    except KeyboardInterrupt:
        pass
    return 0


# The clouds the simulator's clouds.yaml holds (a file holding only these is bulkboot's).
CLOUDS = frozenset({"simulator", "simulator-appcred"})


async def _serve(
    config: SimConfig, host: str, port: int, clouds_file: tuple[Path, Mode] | None
) -> None:
    import asyncio
    import contextlib
    import signal

    import yaml

    from bulkboot.commands._clouds_file import Mode, write_clouds
    from bulkboot.simulator.server import serve_simulator

    async with contextlib.AsyncExitStack() as stack:
        try:
            sim = await stack.enter_async_context(serve_simulator(config, host, port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        clouds = sim.clouds_yaml()
        if clouds_file is not None:
            path, mode = clouds_file
            try:
                await asyncio.to_thread(write_clouds, path, clouds["clouds"], mode)
            except OutputError as exc:
                raise ConfigError(str(exc)) from None
        out = sys.stdout
        print(f"bulkboot simulator listening on {sim.base_url}", file=out)
        print(f"auth URL: {sim.auth_url}", file=out)
        if clouds_file is not None:
            path, mode = clouds_file
            done = {
                Mode.CREATE: "wrote",
                Mode.REPLACE: "replaced",
                Mode.MERGE: "merged the simulator's clouds into",
            }[mode]
            print(f"{done} {path} (cloud 'simulator')", file=out)
        print("clouds.yaml entry:", file=out)
        entry = {"clouds": {"simulator": clouds["clouds"]["simulator"]}}
        print(yaml.safe_dump(entry, sort_keys=False), end="", file=out)
        # Handlers before the last line: whoever waits for it may signal at once.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print("Press Ctrl-C to stop.", file=out, flush=True)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        stats = sim.stats()
        print(
            f"bulkboot simulator stopped after {stats['requests_total']} requests, "
            f"{stats['servers_created']} servers created, "
            f"{stats['authentications']} authentications",
            file=out,
            flush=True,
        )
