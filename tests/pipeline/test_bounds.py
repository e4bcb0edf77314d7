"""bulkboot/pipeline/bounds.py: a group's templated values checked and sized before it
is expanded, and the whole manifest bounded."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from bulkboot.pipeline import bounds, yaml_nodes
from bulkboot.pipeline.manifest import read_manifest
from bulkboot.pipeline.spec import Manifest
from bulkboot.pipeline.template import Template, compile_template

HEAD = "name: f\ndefaults: {image: cirros, flavor: m1.tiny, networks: none}\nservers:\n"


def _template(text: str) -> Template:
    compiled = compile_template(text)
    assert isinstance(compiled, Template)
    return compiled


def test_candidates_hold_the_ends_and_every_place_a_number_grows() -> None:
    found = bounds.candidates(1, 100_000)
    assert found[0] == 1 and found[-1] == 100_000
    assert {9, 10, 99, 100, 9_999, 10_000, 99_999, 0xFFF, 0x1000, 1023, 1024} <= set(found)
    assert len(found) < 200  # a handful, whatever the count
    assert bounds.candidates(-50, 101) == sorted(set(bounds.candidates(-50, 101)))
    assert {-50, -10, -9, 0, 1, 9, 10, 50} <= set(bounds.candidates(-50, 101))
    assert bounds.candidates(5, 0) == []


@pytest.mark.parametrize(
    ("text", "start", "count", "length", "index"),
    [
        ("web-{index:03d}", 1, 1000, 8, 1000),
        ("{index:,}", 1, 1500, 5, 1000),  # 1,000 (the end, 1,500, is no longer)
        ("{index:x}", 1, 300, 3, 256),
        ("{index}", -120, 100, 4, -120),
        ("{name}.lab.example", 1, 12, 18, 10),
    ],
)
def test_longest_is_the_longest_rendering(
    text: str, start: int, count: int, length: int, index: int
) -> None:
    name = _template("web-{index}")
    found = bounds.longest(_template(text), name, bounds.candidates(start, count))
    assert found[:2] == (length, index)
    every = max(
        len(_template(text).render(i, name.render(i, ""))) for i in range(start, start + count)
    )
    assert every == length  # what rendering every server would have found


def test_limits_follow_novas_schema() -> None:
    assert bounds.limit_of("description") == 255
    assert bounds.limit_of("metadata.role") == 255
    assert bounds.limit_of("tags.3") == 60
    assert bounds.limit_of("networks.0.tag") == 60
    assert bounds.limit_of("user_data") is None  # a local path
    assert bounds.limit_of("scheduler_hints.query") is None


def _read(tmp_path: Path, text: str) -> tuple[Manifest, list[str]]:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    manifest, problems = read_manifest(path)
    return manifest, [str(p).removeprefix(f"{path}:") for p in problems]


def test_a_value_too_long_for_some_server_is_reported_once_without_rendering_it(
    tmp_path: Path,
) -> None:
    tracemalloc.start()
    manifest, problems = _read(
        tmp_path,
        HEAD + "  - name: 's-{index:06d}'\n    count: 100000\n"
        "    description: '" + "{name}" * 40 + "'\n",
    )
    _, most = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problems == [
        "6:18: s-{index:06d}: description: renders up to 320 characters "
        "(for s-000001 at index 1), more than the 255 Nova takes"
    ]
    assert manifest.servers[0].description is None  # left out, never rendered
    # 100,000 servers take ~50 MB; their descriptions of 320 characters 37 MB more.
    assert most < 75_000_000


def test_a_manifest_that_would_render_too_much_is_refused_at_its_group(tmp_path: Path) -> None:
    metadata = "".join(f"      k{i:03d}: 'v-{{name}}-{{index}}'\n" for i in range(127))
    tracemalloc.start()
    manifest, problems = _read(
        tmp_path,
        HEAD
        + "  - name: small\n"
        + "  - name: 's-{index:06d}'\n    count: 100000\n    metadata:\n"
        + metadata,
    )
    _, most = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problems == [
        "5:5: s-{index:06d}: the manifest would render 12,800,001 values, more than the "
        "5,000,000 bulkboot takes (this group: 100,000 servers x 128 values each: the name, "
        "and every value of a field that holds a template, copied per server): template "
        "fewer values, or split the fleet"
    ]
    assert [s.name for s in manifest.servers] == ["small"]  # nothing of it expanded
    assert most < 10_000_000  # it took 1.4 GB to expand and validate


def test_too_many_characters_in_all_are_refused(tmp_path: Path) -> None:
    long = "{name}-" + "x" * 200 + "-{index}"
    metadata = "".join(f"      k{i}: '{long}'\n" for i in range(20))
    _, problems = _read(
        tmp_path, HEAD + "  - name: 's-{index:06d}'\n    count: 100000\n    metadata:\n" + metadata
    )
    assert len(problems) == 1
    assert problems[0] == (
        "4:5: s-{index:06d}: the manifest's templates would render up to 432,800,000 "
        "characters, more than the 268,435,456 bulkboot takes (this group: 100,000 servers "
        "x 21 values each, up to 4,328 characters each): shorten them, or split the fleet"
    )


def test_a_name_template_too_long_is_one_problem_and_no_servers(tmp_path: Path) -> None:
    manifest, problems = _read(tmp_path, HEAD + "  - name: 'web-{index:0255d}'\n    count: 3\n")
    shown = ("web-" + "0" * 255)[:40]
    assert problems == [
        f"4:11: web-{{index:0255d}}: name: renders up to 259 characters ({shown}... at index "
        "1), more than the 255 Nova takes"
    ]
    assert manifest.servers == ()


def test_a_templated_default_too_long_is_reported_as_the_defaults(tmp_path: Path) -> None:
    _, problems = _read(
        tmp_path,
        "name: f\n"
        "defaults: {image: cirros, flavor: m1.tiny, hostname: '" + "{name}" * 60 + "'}\n"
        "servers:\n  - {name: 'web-{index}', count: 12}\n",
    )
    assert problems == [
        "2:54: defaults (for web-{index}): hostname: renders up to 360 characters (for web-10 "
        "at index 10), more than the 255 Nova takes"
    ]


def test_the_files_a_manifest_reads_are_bounded_in_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yaml_nodes, "MAX_FILES_BYTES", 10_000)
    (tmp_path / "data").mkdir()
    for i in range(1, 41):
        (tmp_path / "data" / f"web-{i}").write_bytes(b"x" * 1000)
    manifest, problems = _read(
        tmp_path, HEAD + "  - name: 'web-{index}'\n    count: 40\n    user_data: 'data/{name}'\n"
    )
    assert problems == [
        "6:16: web-{index}: user_data: the files this manifest names add up to more than 0 MiB "
        "(a file per server, from a template?): bulkboot reads at most that much"
    ]
