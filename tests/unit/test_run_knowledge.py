"""The run's shared knowledge (herdref.checker.knowledge): promotions reorder the run and turn
the checks they jump into dependents; facts are kept only from a failure that came back."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Collection, Iterator

import pytest

from herdref.checker.checks.helpers import cut_or
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
        context.target.knowledge.promote("flood-all", ahead_of=("flood-no-loop",))

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


def test_a_fact_names_the_check_that_taught_it_first() -> None:
    """A later check BLOCKED by a known defect names the check that saw it (links_not_reopened)."""
    knowledge = RunKnowledge()
    knowledge.learn({"links_not_reopened": "Bailey never reached Campbell"}, check="flood-no-loop")
    knowledge.learn({"links_not_reopened": "Bona never reached Bailey"}, check="restart-reconnect")
    assert knowledge.links_not_reopened == "Bailey never reached Campbell"
    assert knowledge.learned_by == {"links_not_reopened": "flood-no-loop"}


class _RecordingLauncher:
    """Just what the runner asks of a launcher, with each restore's deadline recorded."""

    def __init__(self) -> None:
        self.stopped: set[str] = set()
        self.processes: dict[str, object] = {}
        self.restores: list[float] = []
        self.kill_log: list[tuple[str, float]] = []

    def ensure_all_running(self, *, deadline_s: float, keep_down: Collection[str] = ()) -> None:
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


class _StormLauncher(_RecordingLauncher):
    """Records the kills and restarts that set the herd up to run one server alone."""

    single_process = False

    def __init__(self) -> None:
        super().__init__()
        self.killed: list[str] = []
        self.restarted: list[str] = []
        self.kept_down: list[frozenset[str]] = []
        self.restart_deadlines: list[float] = []

    def kill(self, name: str) -> None:
        self.killed.append(name)
        self.stopped.add(name)

    def restart(self, name: str, *, deadline_s: float) -> float:
        self.restarted.append(name)
        self.restart_deadlines.append(deadline_s)
        return 0.0

    def ensure_all_running(self, *, deadline_s: float, keep_down: Collection[str] = ()) -> None:
        super().ensure_all_running(deadline_s=deadline_s)
        self.kept_down.append(frozenset(keep_down))


def test_after_a_flood_storm_one_server_runs_alone_and_only_two_server_checks_stay_blocked() -> None:
    with socket.create_server(("127.0.0.1", 0)) as first, socket.create_server(("127.0.0.1", 0)) as second:
        ports = [listener.getsockname()[1] for listener in (first, second)]
        target = Target(
            config=parse_config(f"[servers]\nA = {{ port = {ports[0]} }}\nB = {{ port = {ports[1]} }}\n"),
            check_budget_s=5,
        )
        launcher = _StormLauncher()
        target.launcher = launcher  # type: ignore[assignment]
        asked: list[str] = []

        def storm(context: CheckContext) -> None:
            context.learned["floods_forever"] = "flood storm: 99 copies"
            raise CheckFailed("flood storm", expected="a bounded flood", seen="99 copies")

        def ask(name: str) -> object:
            def run(context: CheckContext) -> None:
                asked.append(name)
                context.address(name)

            return run

        checks = [
            _check("flood-storm", storm),
            Check("one-server", "LEX-3", "MUST", "one", ask("A"), requires=("flood-storm",)),  # type: ignore[arg-type]
            Check("two-servers", "LEX-3", "MUST", "two", ask("B"), requires=("flood-storm",)),  # type: ignore[arg-type]
            Check("flooding", "FLOOD-1", "MUST", "f", ask("A"), requires=("flood-storm",)),  # type: ignore[arg-type]
            Check("killer", "LEX-3", "MUST", "k", ask("A"), destructive=True, requires=("flood-storm",)),  # type: ignore[arg-type]
        ]
        outcomes = {outcome.check: outcome for outcome in run_checks(target, checks)}
    assert (launcher.killed, launcher.restarted) == (["B"], ["A"])
    assert (target.knowledge.alone, target.knowledge.kept_down) == ("A", frozenset({"B"}))
    assert outcomes["flood-storm"].verdict == "FAIL"
    assert outcomes["one-server"].verdict == "PASS"
    assert outcomes["two-servers"].verdict == "UNSUPPORTED"
    assert "needs B, which is kept stopped" in outcomes["two-servers"].summary
    assert outcomes["flooding"].verdict == "BLOCKED"
    assert outcomes["killer"].verdict == "BLOCKED"
    assert asked == ["A", "B"]
    # Restoring the herd between checks never starts the stopped server again.
    assert launcher.kept_down[-1] == frozenset({"B"})


def test_a_check_cut_short_names_the_budget_that_ended_first(target: Target) -> None:
    # The run's budget ending before the check's own is not "20 s per check" (a check that
    # started with 2 s of the run left and spent them said so).
    target.run_deadline = time.monotonic() + 1
    assert "the run's time budget" in CheckContext(target, "late").budget_words()
    target.run_deadline = time.monotonic() + 60
    assert CheckContext(target, "early").budget_words() == "its time budget (5 s per check)"


def test_the_server_left_alone_after_a_storm_is_restarted_within_the_run_budget() -> None:
    with socket.create_server(("127.0.0.1", 0)) as first, socket.create_server(("127.0.0.1", 0)) as second:
        ports = [listener.getsockname()[1] for listener in (first, second)]
        target = Target(
            config=parse_config(f"[servers]\nA = {{ port = {ports[0]} }}\nB = {{ port = {ports[1]} }}\n"),
            check_budget_s=5,
            startup_s=30,
        )
        target.run_deadline = time.monotonic() + 3
        launcher = _StormLauncher()
        target.launcher = launcher  # type: ignore[assignment]

        def storm(context: CheckContext) -> None:
            context.learned["floods_forever"] = "flood storm: 99 copies"
            raise CheckFailed("flood storm", expected="a bounded flood", seen="99 copies")

        run_checks(target, [_check("flood-storm", storm)])
    # Cut to what is left of the run, not the full startup time (as every restore between checks).
    assert launcher.restarted == ["A"]
    assert 0 < launcher.restart_deadlines[0] <= 3, launcher.restart_deadlines
    assert all(0 < deadline <= 3 for deadline in launcher.restores), launcher.restores


def test_a_malformed_at_reply_blocks_only_the_checks_that_cannot_read_it(target: Target) -> None:
    """at-reply-format FAILs for a malformed AT line that carries the report sent (issue 11):
    a check that reads such lines (reads_malformed_at) is judged and is handed the evidence,
    the others stay BLOCKED by it; a failure of at-reply-format without that fact blocks both."""
    seen: list[str | None] = []

    def malformed(context: CheckContext) -> None:
        context.learned["malformed_at"] = "A answers a valid IAMAT with b'AT A +0.5 +1+2 3'"
        raise CheckFailed("malformed", expected="six fields", seen="five", clause="AT-1")

    def other_failure(context: CheckContext) -> None:
        raise CheckFailed("malformed", expected="six fields", seen="five", clause="AT-1")

    def reader(context: CheckContext) -> None:
        seen.append(context.malformed_at)

    for first, judged in ((malformed, "PASS"), (other_failure, "BLOCKED")):
        target.knowledge = RunKnowledge()
        checks = [
            _check("at-reply-format", first),
            Check(
                "reader",
                "IAMAT-7",
                "MUST",
                "reader",
                reader,
                requires=("at-reply-format",),
                reads_malformed_at=True,
            ),
            _check("other", _pass, requires=("at-reply-format",)),
        ]
        verdicts = {outcome.check: outcome.verdict for outcome in run_checks(target, checks)}
        assert verdicts == {"at-reply-format": "FAIL", "reader": judged, "other": "BLOCKED"}
    assert seen == ["A answers a valid IAMAT with b'AT A +0.5 +1+2 3'"]


def test_a_wrong_answer_to_a_line_longer_than_any_answered_is_blocked_by_long_lines(target: Target) -> None:
    """long-lines answered lines up to 100 octets, then failed: a later check whose 150-octet
    line gets the wrong answer may be looking at the cut (BLOCKED by long-lines, named once),
    while the same wrong answer to a 90-octet line is that check's own FAIL."""

    def long_lines(context: CheckContext) -> None:
        context.longest_line_answered = 100
        context.learned["long_lines_fail"] = "a valid IAMAT of 400 octets got '?'"
        raise CheckFailed("cut", expected="AT", seen="?")

    def refusing(length: int) -> object:
        def run(context: CheckContext) -> None:
            line = b"IAMAT " + b"x" * (length - 6) + b"\n"
            raise cut_or(context, line, CheckFailed("no '?'", expected="?", seen="AT"))

        return run

    outcomes = run_checks(
        target,
        [
            _check("long-lines", long_lines),
            _check("long-line-refused", refusing(150)),
            _check("short-line-refused", refusing(90)),
        ],
    )
    verdicts = {outcome.check: (outcome.verdict, outcome.blocked_by) for outcome in outcomes}
    assert verdicts == {
        "long-lines": ("FAIL", ""),
        "long-line-refused": ("BLOCKED", "long-lines"),
        "short-line-refused": ("FAIL", ""),
    }
    assert target.knowledge.longest_line_answered == 100


def test_without_a_long_lines_failure_no_line_is_too_long() -> None:
    knowledge = RunKnowledge()
    assert not knowledge.line_too_long(b"x" * 70_000 + b"\n")
    knowledge.learn({"long_lines_fail": "refused"}, longest_line_answered=99)
    assert knowledge.line_too_long(b"x" * 100 + b"\r\n")
    assert not knowledge.line_too_long(b"x" * 99 + b"\r\n")
