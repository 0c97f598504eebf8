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
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from herdref.checker import stateful_judging as judging
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.stateful_judging import HerdViolation, lenient_iamat_violations, made_up, require_none
from herdref.checker.target import CheckContext, CheckFailed, Target
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
    pass

__all__ = ["HerdViolation", "build_machine", "lenient_iamat_violations", "no_time_for_a_step"]

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
            if not no_time_for_a_step(target):
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


def no_time_for_a_step(target: Target) -> bool:
    """Too little of the run's budget is left for a step to finish in it: no step is taken."""
    margin = min(5.0, target.timeout_s)
    return target.run_time_left() <= margin
