"""The ``herdref validate`` command line: what it refuses before starting anything."""

from __future__ import annotations

import argparse

import pytest

from herdref.tools import validate
from herdref.tools.exitstatus import ExitStatus


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    validate.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_without_the_check_extra_it_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(validate, "CHECK_EXTRA_MODULES", ("hypothesis", "no_such_module_for_herdref"))
    assert validate.run(_args()) == ExitStatus.USAGE
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "pip install 'herdref[check]'" in error and "no_such_module_for_herdref" in error


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("python3 s.py {nme}", "unknown placeholder {nme}"),
        ("python3 s.py {name", "bad placeholder syntax"),
        ("python3 's.py {name}", "not a shell command line"),
        ("", "empty command"),
    ],
)
def test_a_bad_launch_template_is_named(template: str, problem: str) -> None:
    found = validate._template_problem(template)
    assert found is not None and problem in found


def test_a_good_launch_template_passes() -> None:
    assert (
        validate._template_problem("python3 'my server.py' {name} --port {port} -c {config} {places_url}")
        is None
    )


def test_exit_status_orders_fail_error_flaky_and_deviations() -> None:
    from herdref.checker.runner import Outcome

    def outcome(verdict: str, level: str = "MUST") -> Outcome:
        return Outcome("c", "X-1", level, "t", verdict, 0.0)  # type: ignore[arg-type]

    assert validate.exit_status([outcome("PASS"), outcome("BLOCKED")], allow_flaky=False) == ExitStatus.OK
    assert validate.exit_status([outcome("FLAKY")], allow_flaky=False) == ExitStatus.FAILURE
    assert validate.exit_status([outcome("FLAKY")], allow_flaky=True) == ExitStatus.OK
    assert validate.exit_status([outcome("FLAKY", "SHOULD")], allow_flaky=False) == ExitStatus.OK
    assert validate.exit_status([outcome("ERROR"), outcome("NON-STRICT")], allow_flaky=False) == 5
    assert validate.exit_status([outcome("ERROR"), outcome("FAIL")], allow_flaky=False) == ExitStatus.FAILURE
    assert validate.exit_status([outcome("NON-STRICT")], allow_flaky=False) == ExitStatus.NON_STRICT


def test_a_must_check_left_unjudged_by_the_time_budget_is_an_incomplete_run() -> None:
    from herdref.checker.runner import Outcome

    def outcome(verdict: str, level: str = "MUST", *, budget_spent: bool = False) -> Outcome:
        return Outcome("c", "X-1", level, "t", verdict, 0.0, budget_spent=budget_spent)  # type: ignore[arg-type]

    cut = outcome("SKIPPED", budget_spent=True)
    assert validate.exit_status([outcome("PASS"), cut], allow_flaky=False) == ExitStatus.INCOMPLETE
    assert validate.exit_status([outcome("UNSUPPORTED", budget_spent=True)], allow_flaky=False) == 6
    # Left out by the options (not for lack of time), or a SHOULD check: the run is complete.
    assert validate.exit_status([outcome("PASS"), outcome("SKIPPED")], allow_flaky=False) == ExitStatus.OK
    should_cut = outcome("SKIPPED", "SHOULD", budget_spent=True)
    assert validate.exit_status([should_cut], allow_flaky=False) == ExitStatus.OK
    # What was judged still decides first: a FAIL or a checker ERROR outranks the missing checks.
    assert validate.exit_status([outcome("FAIL"), cut], allow_flaky=False) == ExitStatus.FAILURE
    assert validate.exit_status([outcome("ERROR"), cut], allow_flaky=False) == ExitStatus.CHECKER_ERROR
    assert validate.exit_status([outcome("NON-STRICT"), cut], allow_flaky=False) == ExitStatus.INCOMPLETE


def test_the_replay_command_repeats_the_run_seed() -> None:
    args = _args("--launch", "python3 s.py {name}", "--config", "herd.toml", "--seed", "1234")
    assert args.seed == 1234
    replay = validate._replay_command(args, "frame-split-write", 1234)
    assert replay.endswith("--seed 1234 --only frame-split-write")
    assert "--seed" not in validate._replay_command(args, "frame-split-write")
