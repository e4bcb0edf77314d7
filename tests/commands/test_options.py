"""bulkboot/commands/_options.py: shared flags declared once, defaults from the engine."""

from __future__ import annotations

import argparse

import pytest

from bulkboot import cli
from bulkboot.commands._options import (
    RUN_FORMATS,
    format_duration,
    parse_duration,
    resolve_defaults,
)
from bulkboot.engine.apply import ApplyOptions
from bulkboot.engine.destroy import DestroyOptions
from bulkboot.ui.output import FORMATS


def _parse(*argv: str) -> argparse.Namespace:
    return resolve_defaults(cli.build_parser(argv).parse_args(argv))


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = cli.build_parser([command])
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    chosen: argparse.ArgumentParser = commands.choices[command]
    return chosen


def test_flags_left_out_take_the_engines_defaults() -> None:
    apply = _parse("apply", "x.yaml")
    engine = ApplyOptions()
    assert apply.concurrency == engine.concurrency
    assert apply.timeout == engine.timeout
    assert apply.poll_interval == engine.pacing.base
    assert apply.retry_errors == engine.retry_errors
    assert _parse("destroy", "x.yaml").concurrency == DestroyOptions().concurrency


def test_given_flags_win() -> None:
    apply = _parse("apply", "x.yaml", "--concurrency", "7", "--timeout", "5m")
    assert (apply.concurrency, apply.timeout) == (7, 300.0)


def test_help_shows_the_engines_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["apply", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    engine = ApplyOptions()
    assert f"(default {engine.concurrency})" in text
    assert f"(default {format_duration(engine.timeout)})" in text
    assert f"(default {format_duration(engine.pacing.base)})" in text


def test_cloud_says_the_same_in_every_command() -> None:
    helps = {
        command: next(a.help for a in _subparser(command)._actions if a.dest == "cloud")
        for command in ("apply", "destroy", "status", "plan")
    }
    assert len(set(helps.values())) == 1, helps


def test_run_formats_are_the_outputs() -> None:
    assert RUN_FORMATS == FORMATS


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1800.0, "30m"), (1.0, "1s"), (0.2, "200ms"), (90.0, "90s"), (7200.0, "2h")],
)
def test_durations_are_shown_as_they_are_written(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


def _help_of(command: str, flag: str) -> str:
    action = next(a for a in _subparser(command)._actions if flag in a.option_strings)
    assert action.help is not None
    return action.help


def test_concurrency_says_what_it_counts() -> None:
    assert _help_of("apply", "--concurrency").startswith(
        "at most N creates (POST /servers) in flight at once"
    )
    assert _help_of("destroy", "--concurrency").startswith(
        "at most N deletes (DELETE /servers/ID) in flight at once"
    )


def test_yes_says_when_it_is_needed() -> None:
    assert "no terminal to ask on" in _help_of("destroy", "--yes")
    assert _help_of("apply", "--yes") == "do not ask for confirmation"


def test_simulator_host_shows_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["simulator", "--help"])
    assert "address to listen on (default: 127.0.0.1)" in " ".join(capsys.readouterr().out.split())
