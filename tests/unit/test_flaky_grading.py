"""A FLAKY check fails the run only when its failure, had it come back, would have been a FAIL:
under the lenient profile a strict-only deviation is never a FAIL (SPEC 1.1), so seeing it once
and not on replay must not make ``validate`` exit 1 either."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterator

import pytest

from herdref.checker.checks.registry import Check
from herdref.checker.runner import DeferredReplay, replay_deferred, run_check
from herdref.checker.target import CheckContext, CheckFailed, Target
from herdref.herd.config import parse_config
from herdref.tools import validate
from herdref.tools.exitstatus import ExitStatus


@pytest.fixture
def target() -> Iterator[Target]:
    """A target whose one server 'listens' (a bare socket), so the runner's liveness check holds."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        yield Target(config=parse_config(f"[servers]\nA = {{ port = {port} }}\n"), check_budget_s=5)


def _fails_once(clause: str) -> Check:
    attempts = itertools.count()

    def run(context: CheckContext) -> None:
        if next(attempts) == 0:
            raise CheckFailed("echoed differently", expected="the same octets", seen="other", clause=clause)

    return Check("at-reply-format", "AT-1", "MUST", "t", run)  # type: ignore[arg-type]


def test_a_failure_the_check_saw_twice_is_not_replayed(target: Target) -> None:
    """A server that died when its neighbour was killed, and again when only that neighbour was
    (aftermath's LINK-4), is a FAIL: a replay whose servers take longer to die than it lasts
    would otherwise call it FLAKY."""
    attempts = itertools.count()

    def run(context: CheckContext) -> None:
        if next(attempts) == 0:
            raise CheckFailed("died with its neighbour", expected="alive", seen="exited", reproduced=True)

    outcome = run_check(target, Check("flood-storm", "LINK-4", "MUST", "t", run), spec_profile="lenient")  # type: ignore[arg-type]
    assert (outcome.verdict, next(attempts)) == ("FAIL", 1)


def test_a_flaky_strict_deviation_under_lenient_does_not_fail_the_run(target: Target) -> None:
    # IAMAT-5 (echo byte-exact) is tagged strict: reproduced, it would be NON-STRICT.
    outcome = run_check(target, _fails_once("IAMAT-5"), spec_profile="lenient")
    assert (outcome.verdict, outcome.strict_only, outcome.flaky_grade) == ("FLAKY", True, "NON-STRICT")
    assert validate.exit_status([outcome], allow_flaky=False) == ExitStatus.OK


def test_the_same_flaky_deviation_under_strict_fails_the_run(target: Target) -> None:
    outcome = run_check(target, _fails_once("IAMAT-5"), spec_profile="strict")
    assert (outcome.verdict, outcome.flaky_grade) == ("FLAKY", "FAIL")
    assert validate.exit_status([outcome], allow_flaky=False) == ExitStatus.FAILURE
    assert validate.exit_status([outcome], allow_flaky=True) == ExitStatus.OK


def test_a_flaky_core_must_still_fails_the_run_unless_allowed(target: Target) -> None:
    outcome = run_check(target, _fails_once("AT-1"), spec_profile="lenient")
    assert (outcome.verdict, outcome.strict_only, outcome.flaky_grade) == ("FLAKY", False, "FAIL")
    assert validate.exit_status([outcome], allow_flaky=False) == ExitStatus.FAILURE
    assert validate.exit_status([outcome], allow_flaky=True) == ExitStatus.OK


def test_a_strict_deviation_is_replayed_at_the_end_of_the_run_not_at_once(target: Target) -> None:
    """The run's budget goes first to judging every check: a strict deviation's replay (which
    tells only NON-STRICT from FLAKY) waits for replay_deferred; a core failure's does not."""
    deferred: list[DeferredReplay] = []
    strict = run_check(target, _fails_once("IAMAT-5"), spec_profile="lenient", deferred=deferred)
    core = run_check(target, _fails_once("AT-1"), spec_profile="lenient", deferred=deferred)
    assert (strict.verdict, core.verdict) == ("NON-STRICT", "FLAKY")
    assert [replay.outcome for replay in deferred] == [strict]
    target.run_deadline = time.monotonic() + 60
    replay_deferred(target, deferred)
    assert (strict.verdict, strict.flaky_grade) == ("FLAKY", "NON-STRICT")


def test_a_strict_deviation_left_unreplayed_by_the_budget_says_so(target: Target) -> None:
    deferred: list[DeferredReplay] = []
    strict = run_check(target, _fails_once("IAMAT-5"), spec_profile="lenient", deferred=deferred)
    target.run_deadline = time.monotonic() - 1
    replay_deferred(target, deferred)
    assert strict.verdict == "NON-STRICT"
    assert strict.summary.endswith(
        "its replay was left for the end of the run, and the run's budget was spent)"
    )
