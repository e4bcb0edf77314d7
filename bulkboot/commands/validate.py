"""``bulkboot validate FILE``: every problem of a manifest, offline, nothing sent.

Structural problems (YAML, keys, types, templates, files) and rule problems (nova boot's
and Nova's) are reported together, in file order, so one run shows everything to fix.
"""

from __future__ import annotations

import argparse

from bulkboot.errors import ManifestError, UsageError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a manifest offline and report every problem",
        description="Check a manifest offline: YAML, keys, types, templates, files, and "
        "every rule of nova boot and Nova's API at the chosen compute microversion. "
        "Exit 0 when valid, 2 with every problem listed otherwise.",
    )
    parser.add_argument("manifest", metavar="FILE", help="the manifest (YAML)")
    parser.add_argument(
        "--microversion",
        metavar="2.N",
        help="validate for this compute microversion (default: the manifest's, "
        "or the newest bulkboot supports for 'auto')",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bulkboot.pipeline import microversion as mv
    from bulkboot.pipeline.manifest import read_manifest, sort_problems
    from bulkboot.pipeline.validate import validate

    requested: str | None = args.microversion
    if requested is not None:
        try:
            version = mv.offline(requested)
        except ValueError as exc:
            raise UsageError(f"--microversion: {exc}") from None
    manifest, problems = read_manifest(args.manifest)
    if requested is None:
        try:
            version = mv.offline(manifest.microversion)
        except ValueError:  # already a problem of the manifest's
            version = mv.MAX_SUPPORTED
    all_problems = [*problems, *validate(manifest, version)]
    if all_problems:
        raise ManifestError(sort_problems(all_problems))
    total = sum(spec.instance_count for spec in manifest.servers)
    groups = len(manifest.groups)
    print(
        f"{manifest.name}: {total} server{'s' if total != 1 else ''} in {groups} "
        f"group{'s' if groups != 1 else ''}, valid for compute {version}"
    )
    return 0
