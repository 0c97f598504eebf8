"""The stateful black-box run: a Hypothesis state machine drives a real herd over TCP while the
shared model (:mod:`herdref.model`) says what every server may and must hold.

Rules:

* Steps: IAMAT (fresh, stale or duplicate client times) and WHATSAT at any running server;
  SIGKILL and restart of a server; SIGSTOP/SIGCONT of a server (its links are cut while it is
  stopped, and it is not asked anything); and ``settle``, which tells the model the herd is
  quiet and waits, with a deadline, until every running server holds what it must.
* After every step the running servers are asked what they hold (no waiting), and judged by
  ``check_no_leakage`` and ``check_monotonicity``.
* The replies are judged by the shared property functions (``check_iamat_reply``,
  ``check_whatsat_reply``, ``check_no_leakage``, ``check_monotonicity``, ``check_convergence``),
  the same ones the simulation tier uses; a violation names its SPEC clause. Those judge the
  strict profile; an IAMAT reply they refuse that the lenient profile accepts (SPEC 1.1: CRLF,
  a numerically equal echo, any number of digits in the time difference) is a strict deviation,
  named IAMAT-5 when the echo differs, and graded by the SPEC profile checked against.
* The model is the plain spec's (``catch_up=False``) unless the herd claims the catch-up
  extension (the reference herd does; ``--catch-up`` for others): without it nothing is owed to
  a server that was down when a record was created, so plain herds are judged fairly.
* Examples share one running herd; each example uses client IDs of its own and leaves every
  server running (restarted or resumed) when it ends.
"""

from __future__ import annotations

import contextlib
import itertools
import time
import traceback
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from herdref.checker import stateful_judging as judging
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.grading import BUILTIN_CLAUSE_TAGS, ClauseTag, SpecProfile, failure_verdict
from herdref.checker.stateful_judging import HerdViolation, lenient_iamat_violations, made_up, require_none
from herdref.checker.target import BudgetSpent, CheckContext, CheckFailed, CheckUnsupported, Target
from herdref.model import (
    HerdModel,
    Snapshot,
    Violation,
    check_convergence,
    check_iamat_reply,
    check_monotonicity,
    check_no_leakage,
    check_whatsat_reply,
)
from herdref.model.judge import split_line

if TYPE_CHECKING:
    from herdref.checker.runner import Outcome

__all__ = ["HerdViolation", "build_machine", "lenient_iamat_violations", "run_stateful"]

_PROFILES = {"quick": (12, 15), "full": (30, 25)}
#: The run's client times are this far ahead of the clock (newer than any record a check
#: stored); a server that refuses them breaks IAMAT-6, which iamat-any-time names.
_AHEAD_OF_CLOCK_S = 1000
#: Ahead by more than this, a refused IAMAT is refused for its time (IAMAT-6).
_FAR_AHEAD_S = 60
_example_counter: Iterator[int] = itertools.count(1)


def build_machine(
    target: Target,
    *,
    allow_faults: bool = True,
    deviations: list[Violation] | None = None,
    known_clauses: frozenset[str] = frozenset(),
) -> type[Any]:
    """A RuleBasedStateMachine class bound to ``target`` (faults need its launcher).

    A reply that only the strict profile refuses is appended to ``deviations`` (a note) and the
    run goes on, so later steps (newer and older reports, kills, partitions) are still
    exercised; only a violation every profile refuses stops it. Without ``deviations`` every
    violation stops the run. A violation of one of ``known_clauses`` (already named by a check
    of this run) is noted in ``deviations`` too, so one defect is named once."""
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

    names = target.names
    links = sorted(tuple(sorted(pair)) for pair in target.config.links)
    launcher = target.launcher if allow_faults else None
    # A herd a stopped neighbour holds up (LINK-4 Strict, paused-neighbour's) is stopped nowhere.
    pauses = launcher is not None and target.knowledge.stopped_neighbour_blocks is None
    budget_notes: set[str] = set()
    #: Every example's context: what the run sent, to tell a run cut short from one that never began.
    contexts: list[CheckContext] = []

    def require(violations: list[Violation]) -> None:
        violations = [judging.as_known(violation, known_clauses) for violation in violations]
        new = [violation for violation in violations if violation.clause not in known_clauses]
        require_none(new)
        noted = [violation for violation in violations if violation.clause in known_clauses]
        if noted and deviations is not None:
            deviations.extend(violation for violation in noted if violation not in deviations)
            # The herd now holds what the model did not predict (a known defect at work):
            # later steps of this example would only show consequences of it. End the example
            # (discarded, not failed) and go on with the next one.
            from hypothesis import reject

            reject()
        require_none(noted)

    class HerdMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = HerdModel(names, [(a, b) for a, b in links], catch_up=target.catch_up)
            # Its waits are not cut by a check budget: over_budget() stops new steps instead;
            # a step still in flight when the run's budget runs out has its waits cut there
            # (BudgetSpent), so that no herd (one flooding for ever, say) keeps the run going.
            self.context = CheckContext(target, f"stateful{next(_example_counter)}", budgeted=False)
            if target.run_deadline is not None:
                self.context.deadline = target.run_deadline
            contexts.append(self.context)
            self.clients = [self.context.client_id(f"k{index}") for index in range(2)]
            self.base_time = int(time.time())
            self.tick = itertools.count(1)
            self.paused: set[str] = set()
            self.previous: Snapshot | None = None
            #: Last answers seen, per server and client (a server's entry goes when it dies).
            self.seen: dict[str, dict[bytes, bytes | None]] = {}
            #: The client the last step may have changed, for the cheap per-step invariant.
            self.touched: bytes | None = None
            self.last_report: tuple[bytes, bytes] | None = None
            # Left down by an earlier example (no time left to restart it): no death in this one.
            for name in judging.gone(names, launcher.processes, launcher.alive) if launcher else []:
                self.model.crash(name)

        # ---- helpers ---------------------------------------------------------------------

        def over_budget(self) -> bool:
            """The run's time budget is spent: every later step does nothing (noted)."""
            if not _no_time_for_a_step(target):
                return False
            budget_notes.add("cut short: the run's time budget was spent")
            return True

        def answering(self) -> list[str]:
            if self.over_budget():
                return []
            return [name for name in names if self.model.alive[name] and name not in self.paused]

        def observe(self, clients: list[bytes] | None = None, servers: list[str] | None = None) -> Snapshot:
            """Ask the running ``servers`` about ``clients`` (all by default); the snapshot also
            holds the latest earlier answer for what was not asked this time (same life)."""
            asked = self.model.client_ids() if clients is None else clients
            for name in self.answering() if servers is None else servers:
                known = self.seen.setdefault(name, {})
                for client in asked:
                    try:
                        line = judging.record_of(self.context.stored_line(name, client))
                        known[client] = (
                            None if line is not None and made_up(self.model, name, client, line) else line
                        )
                    except CheckFailed as failure:  # no answer at all: a violation, not "no record"
                        require([Violation(failure.clause or "WHATSAT-4", failure.summary)])
            return self.model.snapshot({name: dict(table) for name, table in self.seen.items()})

        def check_snapshot(self, snapshot: Snapshot) -> None:
            violations = check_no_leakage(self.model, snapshot)
            if self.previous is not None:
                violations += check_monotonicity(self.model, self.previous, snapshot)
            self.previous = snapshot
            require(violations)

        # ---- rules -----------------------------------------------------------------------

        def report(self, server: str, client_id: bytes, client_time: bytes) -> None:
            location = self.context.location()
            before = time.time_ns()
            reply = self.context.iamat(server, client_id, location, client_time)
            after = time.time_ns()
            down = sorted(self.paused | {name for name in names if not self.model.alive[name]})
            if not reply.data and down:
                # LINK-4: nothing came back while a server was stopped or dead: the reply waited
                # on it (restart-reconnect and paused-neighbour name that, so it is known there).
                require(
                    [
                        Violation(
                            "LINK-4",
                            f"{server} did not answer an IAMAT while {', '.join(down)} was stopped or down",
                        )
                    ]
                )
            strict = check_iamat_reply(
                server, client_id, location, client_time, reply.data, received_ns=(before, after)
            )
            violations, strict_only = lenient_iamat_violations(
                server,
                (client_id, location, client_time),
                reply.data,
                received_ns=(before, after),
                strict=strict,
            )
            ahead_s = int(client_time.partition(b".")[0]) - before // 1_000_000_000
            if violations and reply.data.startswith(b"?") and not strict_only and ahead_s > _FAR_AHEAD_S:
                # A valid IAMAT refused, and nothing in it is unusual but its client time,
                # ahead of the clock: the IAMAT-6 defect (skew is no reason to refuse).
                violations = [
                    Violation(
                        "IAMAT-6",
                        f"{server} refused an IAMAT whose client time is {ahead_s} s ahead of the "
                        f"clock: {reply.data[:200]!r}",
                    )
                ]
            if violations and strict_only and deviations is None:
                raise HerdViolation(violations, strict_only=True)
            known_diff = bool(violations) and {violation.clause for violation in violations} <= (
                known_clauses & {"AT-2"}
            )
            if violations and not strict_only and not (known_diff and deviations is not None):
                require(violations)  # a defect a check named already is noted, not failed
            # A time difference a check already named (skew, AT-2) changes nothing the model
            # predicts: the herd stores the line it answered, which the model records below, so
            # the example goes on (a student herd's '--' in every reply ended each one at once).
            if violations and deviations is not None:
                deviations.extend(violation for violation in violations if violation not in deviations)
            split = split_line(reply.data, crlf=False)
            self.model.create(server, client_id, client_time, split[0] if split else reply.data)
            self.touched = client_id

        @initialize(first=st.sampled_from(names), second=st.sampled_from(names))
        def both_clients_report(self, first: str, second: str) -> None:
            """Every example starts with a record of each client, so that later steps have
            something to flood, replace, lose and look up."""
            self.iamat(first, 0)
            self.iamat(second, 1)

        @rule(server=st.sampled_from(names), client=st.integers(0, 1))
        def iamat(self, server: str, client: int) -> None:
            """A client reports a location newer than any before it."""
            if server not in self.answering():
                return
            client_time = b"%d.%09d" % (self.base_time + _AHEAD_OF_CLOCK_S + next(self.tick), 123_456_789)
            self.last_report = (self.clients[client], client_time)
            self.report(server, self.clients[client], client_time)

        @rule(server=st.sampled_from(names), older=st.booleans())
        def stale_iamat(self, server: str, older: bool) -> None:
            """The last client to report sends an older report, or one with the same time
            (a duplicate): answered, but it must replace nothing (IAMAT-7, FLOOD-2)."""
            if server not in self.answering() or self.last_report is None:
                return
            client_id, newest_time = self.last_report
            # What the server holds just before, so a record replaced by an older one shows.
            self.check_snapshot(self.observe([client_id], [server]))
            whole, _, fraction = newest_time.partition(b".")
            client_time = b"%d.%s" % (int(whole) - 1, fraction) if older else newest_time
            self.report(server, client_id, client_time)

        @rule(server=st.sampled_from(names), client=st.integers(0, 1), bound=st.integers(1, 3))
        def whatsat(self, server: str, client: int, bound: int) -> None:
            if server not in self.answering():
                return
            if not self.context.target.places_work:
                # A bound above 0 shows no record on this herd (the dialect step saw it; whatsat-
                # reply names why, from the fixture's log); bound 0 may still show the record.
                if self.context.target.lookup_bound != 0:
                    return
                bound = 0
            client_id = self.clients[client]
            request = b"WHATSAT %s 10 %d" % (client_id, bound)
            reply = self.context.send(server, request + b"\n", whatsat=True)
            stored = self.model.may_lines(server, client_id)
            require(
                check_whatsat_reply(
                    request,
                    bound,
                    reply.data,
                    stored=stored,
                    may_be_unknown=self.model.must_record(server, client_id) is None,
                )
            )

        @precondition(lambda self: launcher is not None)
        @rule(server=st.sampled_from(names))
        def kill(self, server: str) -> None:
            assert launcher is not None
            if not self.model.alive[server] or len(self.answering()) <= 2:
                return
            self.resume_if_paused(server)
            launcher.kill(server)
            self.model.crash(server)
            self.seen.pop(server, None)

        @precondition(lambda self: launcher is not None)
        @rule(server=st.sampled_from(names))
        def restart(self, server: str) -> None:
            assert launcher is not None
            if self.model.alive[server] or self.over_budget():
                return
            launcher.start(server)
            launcher.wait_listening(server, deadline_s=self.context.remaining(target.startup_s))
            self.model.restart(server)

        @precondition(lambda self: pauses)
        @rule(server=st.sampled_from(names))
        def pause(self, server: str) -> None:
            assert launcher is not None
            if server not in self.answering() or len(self.answering()) <= 2:
                return
            launcher.pause(server)
            self.paused.add(server)
            for a, b in links:
                if server in (a, b):
                    self.model.cut(a, b)

        @rule(server=st.sampled_from(names))
        def resume(self, server: str) -> None:
            self.resume_if_paused(server)

        def resume_if_paused(self, server: str) -> None:
            if server not in self.paused:
                return
            assert launcher is not None
            launcher.resume(server)
            self.paused.discard(server)
            for a, b in links:
                if server in (a, b) and a not in self.paused and b not in self.paused:
                    self.model.heal(a, b)

        @invariant()
        def records_only_get_newer(self) -> None:
            """After every step (no waiting): no server holds a record that could not have
            reached it (FLOOD-4), and none went back to an older one (STATE-1); and no
            server the run did not kill has died (ERR-4)."""
            if launcher is not None:  # one the run killed, in this example or before, is no death
                dead = [name for name in names if self.model.alive[name] and launcher.crashed(name)]
                require([judging.died(launcher, name) for name in dead])
            if self.touched is not None:
                self.check_snapshot(self.observe([self.touched]))
                self.touched = None

        @rule()
        def settle(self) -> None:
            """The herd is quiet: wait (deadline) until every server holds what it must."""
            if self.over_budget():
                return
            self.model.quiet()
            latest: list[Violation] = []

            def converged() -> bool:
                nonlocal latest
                snapshot = self.observe()
                self.check_snapshot(snapshot)
                latest = check_convergence(self.model, snapshot)
                return not latest

            with contextlib.suppress(DeadlinePassed):  # what is still missing is in ``latest``
                wait_until(converged, deadline_s=target.propagation_s)
            require(latest)

        def teardown(self) -> None:
            for server in sorted(self.paused):
                self.resume_if_paused(server)
            # Past the run's budget nothing follows the run on this herd: no waiting for it.
            if launcher is not None and not self.over_budget():
                launcher.ensure_all_running(deadline_s=min(target.startup_s, target.run_time_left()))

    HerdMachine.budget_notes = budget_notes
    HerdMachine.contexts = contexts
    return HerdMachine


_TITLE = "random IAMAT/WHATSAT/kill/restart/pause sequences judged by the shared model"


def _unjudged(*, sent: int) -> str:
    """Why a stateful run the budget cut before any reply is UNSUPPORTED (never a PASS)."""
    return (
        "not judged: the run's time budget was spent before the stateful run got a reply "
        f"({sent} command(s) sent; raise --budget)"
    )


def _no_time_for_a_step(target: Target) -> bool:
    """Too little of the run's budget is left for a step to finish in it: no step is taken."""
    margin = min(5.0, target.timeout_s)
    return target.run_time_left() <= margin


def _past_budget(target: Target) -> bool:
    """The run's time budget is spent (the stateful run's steps, replays and waits stop)."""
    return target.run_time_left() <= 0


def _violation_in_context(error: BaseException) -> HerdViolation | None:
    """The HerdViolation ``error`` was raised while handling, if any (its ``__context__`` chain)."""
    seen: set[int] = set()
    context = error.__context__
    while context is not None and id(context) not in seen:
        if isinstance(context, HerdViolation):
            return context
        seen.add(id(context))
        context = context.__context__
    return None


def run_stateful(
    target: Target,
    *,
    profile: str,
    examples: int | None,
    spec_profile: SpecProfile = "lenient",
    tags: Mapping[str, ClauseTag] = BUILTIN_CLAUSE_TAGS,
    known_clauses: frozenset[str] = frozenset(),
) -> Outcome:
    """Run the state machine against ``target``; one Outcome with the shrunk failing steps.

    ``known_clauses`` were already found broken by the checks of this run: the stateful run
    notes violations of them and goes on looking for other defects.

    Examples are derandomized, so a run can be replayed exactly. A failure is replayed once
    (the same examples, without shrinking): if they then pass, or Hypothesis finds that the
    failure does not reproduce, the verdict is FLAKY.
    """
    from herdref.checker.runner import Outcome

    if _no_time_for_a_step(target):
        # No step could be taken: no Hypothesis run (its setup alone takes a second or two).
        return Outcome(
            "stateful",
            "FLOOD-1",
            "MUST",
            _TITLE,
            "UNSUPPORTED",
            0.0,
            summary=_unjudged(sent=0),
            budget_spent=True,
        )

    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Flaky, Unsatisfiable
    from hypothesis.reporting import with_reporter
    from hypothesis.stateful import run_state_machine_as_test

    from herdref.checker.launcher import LaunchError

    default_examples, steps = _PROFILES.get(profile, _PROFILES["full"])
    deviations: list[Violation] = []
    # One program serving every server cannot lose one of them: no kill, restart or pause steps.
    faults = target.launcher is not None and not target.launcher.single_process
    machine = build_machine(target, allow_faults=faults, deviations=deviations, known_clauses=known_clauses)
    reported: list[object] = []
    started = time.monotonic()
    options = settings(
        max_examples=examples or default_examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    outcome = Outcome(
        check="stateful",
        clause="FLOOD-1",
        level="MUST",
        title=_TITLE,
        verdict="PASS",
        duration_s=0.0,
    )
    try:
        with with_reporter(reported.append):
            run_state_machine_as_test(machine, settings=options)  # type: ignore[no-untyped-call,unused-ignore]
    except HerdViolation as violation:
        first = violation.violations[0]
        outcome.strict_only = violation.strict_only
        outcome.verdict = failure_verdict(
            "MUST", first.clause, tags, spec_profile, strict_only=violation.strict_only
        )
        outcome.clause = first.clause
        outcome.summary = first.message
        outcome.expected = "; ".join(sorted({v.clause for v in violation.violations}))
        outcome.seen = str(violation)[:2000]
        # Hypothesis attaches the shrunk steps to the exception (older versions report them).
        notes = [str(text) for text in (*reported, *getattr(violation, "__notes__", []))]
        outcome.minimal = [line for text in notes for line in text.splitlines() if line.strip()]
        replay = settings(options, phases=[Phase.explicit, Phase.generate])
        try:
            run_state_machine_as_test(machine, settings=replay)  # type: ignore[no-untyped-call,unused-ignore]
        except HerdViolation:
            pass
        else:
            # A replay the run's budget cut short did not run the steps: no FLAKY from it.
            if not _past_budget(target):
                outcome.flaky_grade, outcome.verdict = outcome.verdict, "FLAKY"
    except Flaky as exc:
        outcome.verdict = "FLAKY"
        # What failed the first time: kept in an exception group, or the exception Hypothesis
        # was handling when it found the steps drawn differently on a repeat (the herd's
        # timing moved the failure to another step while shrinking).
        kept: object = next(iter(getattr(exc, "exceptions", ())), None) or _violation_in_context(exc)
        if _past_budget(target) and isinstance(kept, (BudgetSpent, LaunchError)):
            # A wait the run's budget cut (or a restart it gave no time to open its port) is
            # no failure of the herd, and its replays, past the budget, ran no steps.
            outcome.verdict, outcome.budget_spent = "PASS", True
        elif not isinstance(kept, HerdViolation) and any(v.clause in known_clauses for v in deviations):
            # The examples ended at a known defect at a different step each time (timing):
            # Hypothesis calls that inconsistent data, not a failure of the herd.
            outcome.verdict = "PASS"
        elif isinstance(kept, HerdViolation):
            first = kept.violations[0]
            outcome.clause = first.clause
            outcome.expected = "; ".join(sorted({v.clause for v in kept.violations}))
            outcome.seen = str(kept)[:2000]
            replay = settings(options, phases=[Phase.explicit, Phase.generate])
            try:
                run_state_machine_as_test(machine, settings=replay)  # type: ignore[no-untyped-call,unused-ignore]
            except (HerdViolation, Flaky) as again:
                reproduced = isinstance(again, HerdViolation) or _violation_in_context(again) is not None
            else:
                reproduced = False
            if reproduced or _past_budget(target):
                # Failed again, or the replay ran no steps because the run's budget was spent
                # (no FLAKY from a replay that did not happen, as above).
                outcome.verdict = failure_verdict(
                    "MUST", first.clause, tags, spec_profile, strict_only=kept.strict_only
                )
                outcome.summary = (
                    f"{first.message} ("
                    + ("failed again on replay" if reproduced else "no replay: the run's budget was spent")
                    + "; not shrunk: the herd's timing moved the failure between steps)"
                )[:600]
            else:
                outcome.summary = f"failed once, then not on replay: {kept}"[:600]
                outcome.strict_only = kept.strict_only
                outcome.flaky_grade = failure_verdict(
                    "MUST", first.clause, tags, spec_profile, strict_only=kept.strict_only
                )
        else:
            outcome.summary = f"a failure did not reproduce: {kept or exc!s}"[:600]
    except Unsatisfiable as exc:
        known_seen = sorted(
            {violation.clause for violation in deviations if violation.clause in known_clauses}
        )
        if known_seen:
            # Every example ended at a defect the checks named (e.g. IAMAT-6: the run's client
            # times are refused), so nothing beyond it could be exercised: no verdict, and why.
            outcome.verdict = "UNSUPPORTED"
            outcome.summary = (
                f"every example ended at a defect the checks named (seen by the model as "
                f"{', '.join(known_seen)}), so the random run could exercise nothing beyond it"
            )
        else:
            outcome.verdict = "ERROR"
            outcome.summary = f"checker error in the stateful run: {exc!r}"
            outcome.transcript = traceback.format_exc().splitlines()
    except BudgetSpent:
        outcome.verdict, outcome.budget_spent = "PASS", True  # reported below as cut short
    except CheckUnsupported as exc:
        outcome.verdict = "UNSUPPORTED"
        outcome.summary = str(exc)
    except LaunchError as exc:
        outcome.verdict = "FAIL"
        outcome.clause = "ERR-4"
        outcome.summary = f"a restarted server did not come back: {exc}"
    except Exception as exc:  # the checker's own fault: reported, never a traceback
        outcome.verdict = "ERROR"
        outcome.summary = f"checker error in the stateful run: {exc!r}"
        outcome.transcript = traceback.format_exc().splitlines()
    strict_deviations = [violation for violation in deviations if violation.clause not in known_clauses]
    known_seen = sorted({violation.clause for violation in deviations if violation.clause in known_clauses})
    if outcome.verdict == "PASS" and known_seen and not strict_deviations:
        named = ", ".join(known_seen)
        outcome.summary = f"no defect beyond those the checks named (seen as {named}; the run went on)"
    if outcome.verdict == "PASS" and strict_deviations:
        # Strict-only differences seen on the way (the run went on past them, SPEC 1.1).
        deviations = strict_deviations
        first = deviations[0]
        outcome.strict_only = True
        outcome.verdict = failure_verdict("MUST", first.clause, tags, spec_profile, strict_only=True)
        outcome.clause = first.clause
        outcome.summary = (
            f"{first.message} (and {len(deviations) - 1} more strict-only difference(s); the run went on)"
        )
        outcome.expected = "; ".join(sorted({violation.clause for violation in deviations}))
        outcome.seen = "; ".join(str(violation) for violation in deviations)[:2000]
    if (outcome.budget_spent or getattr(machine, "budget_notes", None)) and outcome.verdict == "PASS":
        entries = [
            entry for context in getattr(machine, "contexts", ()) for entry in context.transcript.entries
        ]
        sent = sum(entry.direction == "send" for entry in entries)
        replies = sum(entry.direction == "recv" for entry in entries)
        # A run that got no reply saw no evidence: no PASS from it (issue 11, vacuous passes).
        outcome.verdict = "PASS" if replies else "UNSUPPORTED"
        outcome.summary = (
            f"passed the steps it ran ({sent} command(s) sent), then was cut short: the run's time "
            "budget was spent"
            if replies
            else _unjudged(sent=sent)
        )
        outcome.budget_spent = True
    outcome.duration_s = time.monotonic() - started
    return outcome
