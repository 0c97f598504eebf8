"""A stateful failure is replayed once; whatever the replay raises decides only whether the
failure is FLAKY, and never escapes the run as a traceback (a validate run that died there
wrote no report at all)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from herdref.checker.machine import HerdViolation
from herdref.checker.stateful_run import run_stateful
from herdref.checker.target import Target
from herdref.herd.config import parse_config
from herdref.model import Violation

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import Phase  # noqa: E402
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition  # noqa: E402


def _target() -> Target:
    # Nothing listens on these ports: the runs below never reach a herd (the Hypothesis run is
    # replaced), only the verdict logic around it runs.
    config = parse_config('[servers]\nA = { port = 9 }\nB = { port = 10 }\n[links]\npairs = [["A", "B"]]\n')
    target = Target(config=config, timeout_s=5, propagation_s=5)
    target.run_deadline = time.monotonic() + 600
    return target


def _violation() -> HerdViolation:
    return HerdViolation([Violation("STATE-1", "Bailey went back to an older record")])


def _flaky_after_a_violation() -> FlakyFailure:
    try:
        raise _violation()
    except HerdViolation as violation:
        return FlakyFailure("failed on the first call, not on the second", [violation])


def _replay_raising(monkeypatch: pytest.MonkeyPatch, replay_error: Exception | None) -> None:
    """The first (shrinking) run finds a violation; its replay raises ``replay_error``."""

    def run_state_machine_as_test(machine: Any, *, settings: Any) -> None:
        if Phase.shrink in settings.phases:
            raise _violation()
        if replay_error is not None:
            if isinstance(replay_error, FlakyFailure):
                # Raised the way Hypothesis raises it: while a HerdViolation is being handled.
                try:
                    raise _violation()
                except HerdViolation:
                    raise replay_error from None
            raise replay_error

    monkeypatch.setattr("hypothesis.stateful.run_state_machine_as_test", run_state_machine_as_test)


def test_a_replay_that_hypothesis_calls_flaky_after_the_same_violation_keeps_the_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _replay_raising(monkeypatch, FlakyFailure("unreliable", [ValueError("x")]))
    outcome = run_stateful(_target(), profile="quick", examples=1)
    assert (outcome.verdict, outcome.clause) == ("FAIL", "STATE-1"), outcome


def test_a_replay_that_diverged_without_failing_makes_the_failure_flaky(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _replay_raising(monkeypatch, FlakyStrategyDefinition("the steps were drawn differently"))
    outcome = run_stateful(_target(), profile="quick", examples=1)
    assert (outcome.verdict, outcome.flaky_grade) == ("FLAKY", "FAIL"), outcome


def test_a_replay_that_passes_makes_the_failure_flaky(monkeypatch: pytest.MonkeyPatch) -> None:
    _replay_raising(monkeypatch, None)
    outcome = run_stateful(_target(), profile="quick", examples=1)
    assert (outcome.verdict, outcome.flaky_grade) == ("FLAKY", "FAIL"), outcome


def test_a_replay_stopped_by_a_checker_fault_leaves_the_proven_failure_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _replay_raising(monkeypatch, RuntimeError("the checker broke"))
    outcome = run_stateful(_target(), profile="quick", examples=1)
    assert (outcome.verdict, outcome.clause) == ("FAIL", "STATE-1"), outcome
    assert "its replay stopped early: RuntimeError('the checker broke')" in outcome.summary


def test_a_replay_of_a_timing_moved_failure_that_diverges_again_is_no_second_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first run's failure moved between steps while shrinking (Hypothesis's Flaky, raised
    while a HerdViolation was handled); its replay is drawn differently and fails on nothing.
    The first failure, still in the replay's context chain, is not a second one."""

    def run_state_machine_as_test(machine: Any, *, settings: Any) -> None:
        if Phase.shrink in settings.phases:
            raise _flaky_after_a_violation()
        raise FlakyStrategyDefinition("the steps were drawn differently")

    monkeypatch.setattr("hypothesis.stateful.run_state_machine_as_test", run_state_machine_as_test)
    outcome = run_stateful(_target(), profile="quick", examples=1)
    assert (outcome.verdict, outcome.flaky_grade) == ("FLAKY", "FAIL"), outcome
    assert outcome.summary.startswith("failed once, then not on replay"), outcome


def test_a_replay_of_a_timing_moved_failure_that_fails_again_is_a_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run_state_machine_as_test(machine: Any, *, settings: Any) -> None:
        if Phase.shrink in settings.phases:
            raise _flaky_after_a_violation()
        raise _violation()

    monkeypatch.setattr("hypothesis.stateful.run_state_machine_as_test", run_state_machine_as_test)
    outcome = run_stateful(_target(), profile="quick", examples=1)
    assert (outcome.verdict, outcome.clause) == ("FAIL", "STATE-1"), outcome
    assert "failed again on replay" in outcome.summary
