"""tests/skips.py: skips sharing a reason are one line of pytest's summary."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from tests.skips import fold_shared_skips

ROOT = Path(__file__).resolve().parents[1]


def test_a_shared_reason_gets_one_place_a_single_one_keeps_its_own() -> None:
    shared = [
        SimpleNamespace(longrepr=("/r/tests/cloud/test_k.py", line, "no real Keystone"))
        for line in (10, 20, 30)
    ]
    nova = [
        SimpleNamespace(longrepr=("/r/tests/realnova/test_a.py", 5, "no real Nova")),
        SimpleNamespace(longrepr=("/r/tests/realnova/test_b.py", 7, "no real Nova")),
    ]
    alone = SimpleNamespace(longrepr=("/r/tests/test_x.py", 3, "needs root"))
    fold_shared_skips([*shared, *nova, alone, SimpleNamespace(longrepr="not a skip tuple")])
    assert {r.longrepr for r in shared} == {("/r/tests/cloud/test_k.py", None, "no real Keystone")}
    assert {r.longrepr for r in nova} == {("/r/tests/realnova", None, "no real Nova")}
    assert alone.longrepr == ("/r/tests/test_x.py", 3, "needs root")


def test_the_real_services_skips_are_one_line_each() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULKBOOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-ra"]
        + ["tests/cloud/test_keystone_real.py", "tests/realnova"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2, done.stdout
    keystone = next(line for line in skipped if "Keystone" in line)
    nova = next(line for line in skipped if "Nova" in line)
    # one line each, however many tests share the reason
    assert re.match(
        r"SKIPPED \[([2-9]|\d\d+)\] tests/cloud/test_keystone_real.py: no real Keystone", keystone
    )
    assert re.match(r"SKIPPED \[([2-9]|\d\d+)\] tests/realnova: no real Nova", nova)
