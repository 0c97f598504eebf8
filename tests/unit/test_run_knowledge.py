"""The run's shared knowledge (herdref.checker.knowledge): promotions reorder the run and turn
the checks they jump into dependents; facts are kept only from a failure that came back."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterator

import pytest

from herdref.checker.checks.registry import Check
from herdref.checker.knowledge import RunKnowledge
from herdref.checker.runner import run_checks
from herdref.checker.target import CheckContext, CheckFailed, Target
from herdref.herd.config import parse_config


@pytest.fixture
def target() -> Iterator[Target]:
    """A target whose one server 'listens' (a bare socket), so the runner's liveness check holds."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        yield Target(config=parse_config(f"[servers]\nA = {{ port = {port} }}\n"), check_budget_s=5)


def _check(name: str, run: object, requires: tuple[str, ...] = ()) -> Check:
    return Check(name, "FLOOD-1", "MUST", name, run, requires=requires)  # type: ignore[arg-type]


def _fail(context: CheckContext) -> None:
    context.learned["does_not_flood"] = f"{context.check_name} saw no flood"
    raise CheckFailed("no flood", expected="a flood", seen="none")


def _pass(context: CheckContext) -> None:
    return None


def test_a_promoted_check_runs_next_and_blocks_the_check_it_jumped(target: Target) -> None:
    def watch(context: CheckContext) -> None:
        context.target.knowledge.promote("flood-all", ahead_of=("flood-no-loop",), why="nothing came")

    checks = [
        _check("flood-storm", watch),
        _check("at-reply-format", _pass),
        _check("flood-no-loop", _pass),
        _check("other", _pass),
        _check("flood-all", _fail, requires=("at-reply-format", "flood-no-loop")),
    ]
    outcomes = run_checks(target, checks)
    # flood-all waits for at-reply-format (a prerequisite it was not promoted over) only.
    assert [outcome.check for outcome in outcomes] == [
        "flood-storm",
        "at-reply-format",
        "flood-all",
        "flood-no-loop",
        "other",
    ]
    verdicts = {outcome.check: outcome for outcome in outcomes}
    assert verdicts["flood-all"].verdict == "FAIL"
    assert verdicts["flood-no-loop"].verdict == "BLOCKED"
    assert verdicts["flood-no-loop"].blocked_by == "flood-all"
    assert verdicts["other"].verdict == "PASS"
    assert target.knowledge.does_not_flood == "flood-all saw no flood"


def test_a_promotion_of_a_check_not_chosen_changes_nothing(target: Target) -> None:
    def watch(context: CheckContext) -> None:
        context.target.knowledge.promote("flood-all", ahead_of=("flood-no-loop",))

    outcomes = run_checks(target, [_check("flood-storm", watch), _check("flood-no-loop", _pass)])
    assert [(outcome.check, outcome.verdict) for outcome in outcomes] == [
        ("flood-storm", "PASS"),
        ("flood-no-loop", "PASS"),
    ]


def test_a_flaky_failure_teaches_the_run_nothing(target: Target) -> None:
    attempts = itertools.count()

    def once(context: CheckContext) -> None:
        if next(attempts) == 0:
            _fail(context)

    outcomes = run_checks(target, [_check("flood-all", once)])
    assert outcomes[0].verdict == "FLAKY"
    assert target.knowledge.does_not_flood is None


def test_the_replay_judges_without_what_its_first_attempt_learned(target: Target) -> None:
    known_during: list[str | None] = []

    def fail_and_look(context: CheckContext) -> None:
        known_during.append(context.target.knowledge.does_not_flood)
        _fail(context)

    run_checks(target, [_check("flood-all", fail_and_look)])
    assert known_during == [None, None]
    assert target.knowledge.does_not_flood is not None


def test_facts_keep_their_first_evidence() -> None:
    knowledge = RunKnowledge()
    knowledge.learn({"one_command_per_connection": "frame-keep-open: no reply to command 2"})
    knowledge.learn({"one_command_per_connection": "later words"})
    assert knowledge.one_command_per_connection == "frame-keep-open: no reply to command 2"
    assert knowledge.does_not_flood is None


class _RecordingLauncher:
    """Just what the runner asks of a launcher, with each restore's deadline recorded."""

    def __init__(self) -> None:
        self.stopped: set[str] = set()
        self.processes: dict[str, object] = {}
        self.restores: list[float] = []

    def ensure_all_running(self, *, deadline_s: float) -> None:
        self.restores.append(deadline_s)


def test_restoring_the_herd_after_a_check_keeps_to_the_run_budget(target: Target) -> None:
    launcher = _RecordingLauncher()
    target.launcher = launcher  # type: ignore[assignment]
    target.startup_s = 30
    target.run_deadline = time.monotonic() + 3
    run_checks(target, [_check("first", _pass)])
    # Cut to what is left of the run, not the full startup time.
    assert len(launcher.restores) == 1 and 0 < launcher.restores[0] <= 3

    def spend_the_budget(context: CheckContext) -> None:
        context.target.run_deadline = time.monotonic() - 1

    outcomes = run_checks(target, [_check("last", spend_the_budget), _check("after", _pass)])
    # Past the budget no check follows on this herd (the next is SKIPPED): no restart at all.
    assert len(launcher.restores) == 1
    assert [outcome.verdict for outcome in outcomes] == ["PASS", "SKIPPED"]
