"""The command line's shared rules: -q/-v on every subcommand, defaults in --help, colour
only on a terminal without NO_COLOR, presets listed, bad --timeout refused in one line."""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import pytest

from herdref.grading.points import KNOWN_VERDICTS
from herdref.herd.config import load_preset, parse_config, preset_names
from herdref.tools.cli import _SUBCOMMANDS, ExitStatus, main, paint


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("command", sorted(_SUBCOMMANDS))
def test_every_subcommand_takes_q_and_v_with_one_meaning(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "-q, --quiet" in text or ("-q" in text and "--quiet" in text), text
    assert "-v, --verbose" in text or ("-v" in text and "--verbose" in text), text


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("send", "(default: 10.0)"),
        ("bench", "requests in flight per connection (default: 1)"),
        ("bench", "pause between probes (default: 50.0)"),
        ("grade", "(default: 600.0)"),
        ("serve", "{auto,fixture,legacy,new}"),
        ("herd", "where WHATSAT finds places"),
        ("herd", "--keep-going"),
        ("bench", "uvloop when installed (auto), or force one (default: auto)"),
        ("validate", "not the SPEC profile graded against: that is --spec-profile"),
        ("validate", "not how much to run: that is --profile"),
    ],
)
def test_help_shows_defaults_and_choices(
    command: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert shown in help_text


@pytest.mark.parametrize("command", ["herd", "serve"])
def test_presets_can_be_listed(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--list-presets"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == preset_names()
    course = next(line for line in lines if line.startswith("course-2023 "))
    assert "Winter 2023" in course


@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf"])
def test_send_refuses_a_timeout_that_is_not_a_wait(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "127.0.0.1:9", "x", "--timeout", timeout]) == ExitStatus.USAGE
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("herdref send: --timeout must be a number of seconds > 0")


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert paint("FAIL", "red", Terminal()) == "\x1b[31mFAIL\x1b[0m"
    assert paint("FAIL", "red", io.StringIO()) == "FAIL"
    monkeypatch.setenv("NO_COLOR", "")
    assert paint("FAIL", "red", Terminal()) == "FAIL"


def test_validate_help_states_the_stateful_runs_default_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from herdref.checker.stateful_run import PROFILES

    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    quick, full = PROFILES["quick"][0], PROFILES["full"][0]
    assert f"(default: {quick} with --quick, {full} in full)" in help_text


def test_every_subcommand_module_has_the_cli_interface() -> None:
    for module_name, _ in _SUBCOMMANDS.values():
        module = importlib.import_module(module_name)
        assert callable(module.add_arguments) and callable(module.run)


README = Path(__file__).parents[2] / "README.md"


def _table_rows(text: str, header: str) -> list[list[str]]:
    lines = text.split(header, 1)[1].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def test_the_readme_exit_status_table_is_exitstatus() -> None:
    rows = _table_rows(README.read_text(), "| Status | Name | Meaning |")
    assert [(int(status), name) for status, name, _ in rows] == [
        (int(item), item.name) for item in ExitStatus
    ]


def test_the_readme_names_every_verdict() -> None:
    rows = _table_rows(README.read_text(), "| Verdict | Meaning |")
    assert sorted(verdict for verdict, _ in rows) == sorted(KNOWN_VERDICTS)


def test_the_readme_set_up_is_two_commands_and_its_herd_file_is_the_default_herd() -> None:
    text = README.read_text()
    set_up = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in set_up.split("```sh")[1:]]
    assert len(commands) == 2 and all(block.split("```")[0].count("\n") == 1 for block in commands)
    sample = text.split("```toml", 1)[1].split("```", 1)[0]
    assert parse_config(sample).servers == load_preset().servers
    assert parse_config(sample).links == load_preset().links


def test_a_reader_that_goes_away_is_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    listing = subprocess.Popen(
        [sys.executable, "-m", "herdref", "herd", "--list-presets"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert listing.stdout is not None and listing.stderr is not None
    listing.stdout.close()  # like `| head -0`: the first write hits a closed pipe
    stderr = listing.stderr.read()
    listing.stderr.close()
    assert listing.wait(30) == ExitStatus.FAILURE
    assert b"Traceback" not in stderr and stderr == b""


def test_an_empty_default_is_not_shown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    assert "(default: )" not in capsys.readouterr().out
