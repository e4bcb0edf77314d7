"""The ``plan`` table's rows: read back from the bodies that would be sent, and the diff.

Pure (no rich): ``plan_table`` draws them. Why read back from the bodies: the table
then shows exactly what would be sent (``--format json`` has the bodies themselves).

Online, each image, flavor and network shows as written in the manifest with the start
of the ID it resolved to (``ubuntu-24.04 (7c1d…)``): the name is what the user
recognises, the short ID tells which one the cloud meant, and a row stays one line at
80 columns (the full IDs are in ``--format json``). The servers of a group share their
bodies' nested values, so texts are worked out once per value (``views``).

``table_rows`` is one row per run of alike requests (``plan --offline``); ``change_rows``
one row per run of alike servers with what ``apply`` would do to them (``+`` create,
``~`` replace, ``=`` unchanged, ``!`` in ERROR), and ``change_lines`` the details the
rows leave out: what differs, the servers to delete or kept, names taken outside the
fleet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bulkboot.engine.diff import Diff
from bulkboot.identity import member_number
from bulkboot.pipeline.spec import ServerSpec
from bulkboot.ui.plan_table import PlanRow

__all__ = ["change_lines", "change_rows", "table_rows", "views"]

View = tuple[str, str, str]  # image, flavor, networks as the table shows them


def views(
    specs: Sequence[ServerSpec], requests: Sequence[Mapping[str, Any]], *, offline: bool
) -> list[View]:
    """What each request's row shows (image, flavor, networks), in request order."""
    shown: list[View] = []
    seen_networks: tuple[object, object, str] = (object(), object(), "")
    seen_devices: tuple[object, object, str] = (object(), object(), "")
    labels: dict[tuple[str | None, str], str] = {}

    def named(written: str | None, resolved: str) -> str:
        key = (written, resolved)
        label = labels.get(key)
        if label is None:
            label = labels[key] = resolved if offline else _named(written, resolved)
        return label

    for spec, request in zip(specs, requests, strict=True):
        server = request["body"]["server"]
        networks = server.get("networks")
        if networks is not seen_networks[0] or spec.networks is not seen_networks[1]:
            seen_networks = (networks, spec.networks, _networks(server, spec, named))
        image = server.get("imageRef")
        if image:
            image = named(_image_as_written(spec), str(image))
        else:
            v2, v1 = server.get("block_device_mapping_v2"), server.get("block_device_mapping")
            if v2 is not seen_devices[0] or v1 is not seen_devices[1]:
                seen_devices = (v2, v1, _image(server, short=not offline))
            image = seen_devices[2]
        flavor = named(spec.flavor, str(server.get("flavorRef", "")))
        shown.append((str(image), flavor, seen_networks[2]))
    return shown


def table_rows(
    specs: Sequence[ServerSpec], requests: Sequence[Mapping[str, Any]], *, offline: bool
) -> list[PlanRow]:
    """One row per request; consecutive one-server requests of a group that show alike
    fold into one row here (``merge_rows`` would do the same, one record per request
    slower)."""
    rows: list[PlanRow] = []
    run: list[Any] | None = None  # [group, first name, last name, shown, count, mark]
    shown_all = views(specs, requests, offline=offline)
    for spec, request, shown in zip(specs, requests, shown_all, strict=True):
        low, high = _count(request["body"]["server"])
        if high == 1 and run is not None and run[0] == spec.group and run[3] == shown:
            run[2] = request["name"]
            run[4] += 1
            continue
        if run is not None:
            rows.append(_row(run))
            run = None
        if low == high == 1:
            run = [spec.group, request["name"], None, shown, 1, ""]
        else:
            image_text, flavor_text, networks_text = shown
            rows.append(
                PlanRow(
                    group=spec.group,
                    name=request["name"],
                    image=image_text,
                    flavor=flavor_text,
                    networks=networks_text,
                    count=high,
                    count_text=str(high) if low == high else f"{low}-{high}",
                )
            )
    if run is not None:
        rows.append(_row(run))
    return rows


def change_rows(
    specs: Sequence[ServerSpec],
    requests: Sequence[Mapping[str, Any]],
    diff: Diff,
    *,
    offline: bool = False,
) -> list[PlanRow]:
    """One row per run of a group's servers that ``apply`` would treat alike and that
    show alike, in manifest order (a multi-create's members by number)."""
    shown = views(specs, requests, offline=offline)
    at = {spec.name: i for i, spec in enumerate(specs)}
    groups = [spec for spec in specs if spec.instance_count > 1]
    marks: dict[str, str] = dict.fromkeys(diff.create, "+")
    marks.update(dict.fromkeys((c.name for c in diff.replace), "~"))
    marks.update(dict.fromkeys(diff.unchanged, "="))
    marks.update(dict.fromkeys((e.name for e in diff.errors), "!"))

    def place(name: str) -> tuple[int, int]:
        index = at.get(name)
        if index is not None:
            return index, 0
        for spec in groups:
            number = member_number(spec.name, name, spec.instance_count)
            if number is not None:
                return at[spec.name], number
        return len(specs), 0  # not the manifest's (cannot happen): last

    rows: list[PlanRow] = []
    run: list[Any] | None = None
    for name in sorted(marks, key=place):
        index, _ = place(name)
        if index >= len(specs):
            continue
        spec, mark = specs[index], marks[name]
        if run is not None and (run[0], run[3], run[5]) == (spec.group, shown[index], mark):
            run[2] = name
            run[4] += 1
            continue
        if run is not None:
            rows.append(_row(run))
        run = [spec.group, name, None, shown[index], 1, mark]
    if run is not None:
        rows.append(_row(run))
    return rows


def change_lines(diff: Diff, *, possible: Sequence[str] = ()) -> list[str]:
    """What the rows leave out, one line each: what differs in each server to replace,
    the servers to delete (``--prune``) or kept, servers in ERROR, names taken."""
    lines = [
        f"~ {c.name} ({_short(c.server_id, keep=8)}): {', '.join(c.fields)} "
        + ("differs" if len(c.fields) == 1 else "differ")
        + (" (no spec mark: told by its flavor and image)" if c.compared == "record" else "")
        for c in diff.replace
    ]
    for extra in diff.extra:
        fate = "delete (--prune)" if diff.prune else "extra, kept (--prune deletes it)"
        lines.append(f"- {extra.name} ({_short(extra.server_id, keep=8)}): {fate}")
    for error in diff.errors:
        then = "--retry-errors would replace it" if error.retryable else "a quota failure"
        fault = (error.fault or "no fault message").splitlines()[0][:120]
        lines.append(f"! {error.name} ({_short(error.server_id, keep=8)}): ERROR {fault} ({then})")
    for name, holder in diff.name_taken.items():
        lines.append(
            f"+ {name}: a server outside the fleet has this name ({holder}): apply would "
            "make a second server of it (Nova allows it) only with --allow-duplicate-names"
        )
    if possible:
        lines.append(
            f"+ {', '.join(possible[:5])}{' ...' if len(possible) > 5 else ''}: an earlier "
            "run's create was sent and never answered and may still land; created only if it "
            "does not"
        )
    return lines


def _short(ident: str, keep: int = 4) -> str:
    """The start of an ID (``7c1d…``); short IDs (a flavor's ``2``) whole."""
    return ident if len(ident) <= keep + 4 else ident[:keep] + "…"


def _named(written: str | None, resolved: str) -> str:
    """A reference as written, with the start of the ID it resolved to; an ID written
    as such shows as a longer start of itself (there is no name to show)."""
    if not written or written == resolved:
        return _short(resolved, keep=8)
    return f"{written} ({_short(resolved)})"


def _image_as_written(spec: ServerSpec) -> str | None:
    if spec.image is not None:
        return spec.image
    if spec.image_with:
        return ",".join(f"{k}={v}" for k, v in spec.image_with.items())
    return None


def _row(run: list[Any]) -> PlanRow:
    group, name, last_name, (image, flavor, networks), count, mark = run
    return PlanRow(
        mark=mark,
        group=group,
        name=name,
        image=image,
        flavor=flavor,
        networks=networks,
        count=count,
        count_text=str(count),
        last_name=last_name,
    )


def _count(server: dict[str, Any]) -> tuple[int, int]:
    high = int(server.get("max_count", 1))
    return min(int(server.get("min_count", high)), high), high


def _image(server: dict[str, Any], *, short: bool = False) -> str:
    """What a server boots from when it has no image: its boot device."""
    cut = _short if short else str
    for device in server.get("block_device_mapping_v2", ()):
        if str(device.get("boot_index")) == "0":
            return f"{device.get('source_type', '?')} {cut(str(device.get('uuid', '')))}".strip()
    for device in server.get("block_device_mapping", ()):
        source = device.get("volume_id") or device.get("snapshot_id")
        kind = "volume" if "volume_id" in device else "snapshot"
        return f"{kind} {cut(str(source))} ({device.get('device_name')})"
    return "-"


def _networks(
    server: dict[str, Any], spec: ServerSpec, named: Callable[[str | None, str], str]
) -> str:
    """The networks as the body sends them, each named as written (``named``)."""
    networks = server.get("networks")
    if networks is None:
        return "(Nova's default)"
    if isinstance(networks, str):
        return networks
    written = spec.networks if isinstance(spec.networks, tuple) else ()
    nics = list(written) if len(written) == len(networks) else [None] * len(networks)
    shown = []
    for nic, wire in zip(nics, networks, strict=True):
        if "uuid" in wire:
            text = named(None if nic is None else nic.net_name or nic.net_id, str(wire["uuid"]))
        else:
            text = f"port {named(None, str(wire.get('port', '?')))}"
        if "fixed_ip" in wire:
            text += f" {wire['fixed_ip']}"
        shown.append(text)
    return "\n".join(shown) if shown else "[]"
