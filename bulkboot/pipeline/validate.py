"""Every rule a manifest must meet, checked at once, offline: a pure function to Problems.

Three sources of rules, each cited where it is checked:

* ``nova boot`` (python-novaclient 18.x ``shell._boot``, ``_parse_nics``,
  ``_parse_block_device_mapping_v2``, ``ServerManager.create``), so that a manifest
  is refused where the command line would have refused the same arguments;
* Nova's own request schema (``nova/api/openstack/compute/schemas/servers.py`` and
  ``nova/api/validation/parameter_types.py``) and the create-time checks in
  ``nova/compute/api.py``, which a user would otherwise learn one 400 at a time;
* Nova's default per-request limits (``spec.Limits``; the manifest may raise them).

Speed: the servers of a group share every value that is not written with a template,
so each group's shared values are checked once (the problem is reported for the
group), and only the templated (``Group.varying``) fields and the name once per server.
"""

from __future__ import annotations

from collections.abc import Sequence

from bulkboot.errors import ManifestError
from bulkboot.pipeline.checker import Check, Checker
from bulkboot.pipeline.cross_rules import check_combinations
from bulkboot.pipeline.field_rules import ALSO_READ, FIELD_CHECKS, SPLIT
from bulkboot.pipeline.formats import name_error
from bulkboot.pipeline.microversion import Microversion
from bulkboot.pipeline.spec import Group, Manifest, Problem, sort_problems

__all__ = ["check", "validate"]


def _groups(manifest: Manifest) -> Sequence[Group]:
    if manifest.groups:
        return manifest.groups
    every = frozenset(FIELD_CHECKS) | frozenset(ALSO_READ) | {"name"}
    return [
        Group(
            template=s.name or s.group or f"servers[{i + 1}]",
            location=s.location,
            first=i,
            stop=i + 1,
            varying=every,
        )
        for i, s in enumerate(manifest.servers)
    ]


def _attrs(fields: frozenset[str]) -> set[str]:
    """The check keys (``FIELD_CHECKS``) that read any of these manifest fields."""
    attrs = set(fields)
    if "user_data_text" in attrs:
        attrs.add("user_data")
    for attr, owner in ALSO_READ.items():
        if attr in attrs:
            attrs.add(owner)
    return attrs


_GroupChecks = tuple[list[Check], list[Check], frozenset[str]]


def _checks_for(varying: frozenset[str], broken: frozenset[str]) -> _GroupChecks:
    """(once per group, once per server) checks, and the broken fields' check keys."""
    attrs = _attrs(varying)
    skip = _attrs(broken)
    shared: list[Check] = []
    each: list[Check] = []
    for attr, check in FIELD_CHECKS.items():
        if attr in skip:
            continue
        if attr not in attrs:
            shared.append(check)
        elif attr in SPLIT:
            shared.append(SPLIT[attr][0])
            each.append(SPLIT[attr][1])
        else:
            each.append(check)
    return shared, each, frozenset(skip | broken)


def validate(manifest: Manifest, microversion: Microversion) -> tuple[Problem, ...]:
    """Every problem of every server at ``microversion``, in file order; empty if valid.

    ``microversion``: the negotiated version online; offline, ``microversion.offline``
    of the manifest's (``auto`` is the newest bulkboot speaks).
    """
    checker = Checker(microversion, manifest.limits)
    checker.defaults_at = manifest.defaults_at
    servers = manifest.servers
    plans: dict[tuple[frozenset[str], frozenset[str]], _GroupChecks] = {}
    for group in _groups(manifest):
        if group.stop <= group.first:
            continue
        key = (group.varying, group.broken)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _checks_for(group.varying, group.broken)
        shared, each, broken = plan
        checker.locations = group.locations
        checker.default = group.location
        first = servers[group.first]
        template = group.template
        checker.subject = (first.name or template) if group.count == 1 else template
        checker.per_server = False
        for check in shared:
            check(first, checker)
        check_combinations(first, checker, broken)
        # Nova names the servers of a multi-create request NAME-1..NAME-N (255 at most).
        instances = first.instance_count
        longest = 255 - (len(str(instances)) + 1 if instances > 1 else 0)
        checker.per_server = True
        for spec in servers[group.first : group.stop]:
            name = spec.name
            checker.subject = name or template
            # The common case inline (a call per server is a tenth of validation's time).
            if not (
                0 < len(name) <= longest
                and name.isascii()
                and name.isprintable()
                and name[0] != " "
                and name[-1] != " "
            ):
                error = name_error(name, "name")
                if error:
                    checker.add("name", error)
                elif len(name) > longest:
                    checker.add(
                        "name",
                        f"name is {len(name)} characters: with Nova's suffix -{instances} for "
                        f"the servers of one request, more than 255",
                    )
            for check in each:
                check(spec, checker)
    return tuple(sort_problems(checker.problems))


def check(manifest: Manifest, microversion: Microversion) -> None:
    """Raise ``ManifestError`` listing every problem, if there is any."""
    problems = validate(manifest, microversion)
    if problems:
        raise ManifestError(problems)
