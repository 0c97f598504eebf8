"""The herd under test as the checks see it: addresses, topology, the launcher (when the checker
runs the servers), the Places fixture (when there is one), and the framing style to talk in.

Rules:

* Only TCP: nothing here imports the reference server; it works the same on any herd.
* Every check gets fresh client IDs and its own locations, so checks never see each other's
  records and Places requests can be told apart at the fixture.
* ``stored_line`` asks with ``WHATSAT <client> 10 0`` when the target accepts bound 0 (no
  Places request, PLACES-4), else with bound 1 (some herds refuse bound 0, WHATSAT-3 lenient).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from herdref.checker.client import Exchange, LineSession, Transcript, exchange, without_glued_stray_error
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.framing_model import Dialect, DialectProbes
from herdref.checker.knowledge import Fact, RunKnowledge
from herdref.checker.launcher import Launcher
from herdref.checker.outcomes import BudgetSpent, CheckBlocked, CheckFailed, CheckUnsupported
from herdref.checker.places_evidence import ROUTE_REDIRECT, ROUTE_REDIRECT_UNUSED, records_unseen
from herdref.checker.redirect import GoogleLookups
from herdref.checker.side_by_side import ask_each
from herdref.checker.variation import Variation, new_seed
from herdref.herd.config import HerdConfig
from herdref.model.judge import (
    at_client_time,
    carries_report_of,
    held_final,
    holds_report_or_newer,
    looks_like_at,
    names_answering_server,
    parse_at_line,
    record_line,
    same_record,
)
from herdref.protocol import WHITESPACE

if TYPE_CHECKING:
    from herdref.places.fixture import FixtureHandle

__all__ = ["BudgetSpent", "CheckBlocked", "CheckContext", "CheckFailed", "CheckUnsupported", "Target"]


@dataclass(slots=True)
class Target:
    config: HerdConfig
    launcher: Launcher | None = None
    fixture: FixtureHandle | None = None
    timeout_s: float = 5.0
    #: How long a record may take to reach every server it should reach.
    propagation_s: float = 5.0
    startup_s: float = 10.0
    #: How long an exchange waits, once the whole reply is in, for the server's EOF or more
    #: octets (a server that keeps its side open, or leaves the final LF off a reply, is read
    #: in this time, not the reply timeout; text that follows a reply at once is still seen).
    linger_s: float = 0.5
    #: A '?' reply was read whole with no final LF after it, the server keeping its side open
    #: (SPEC 1.1 lenient; the dialect step sees only AT replies): later '?' replies whose copy
    #: is all in are taken with no linger, since no LF will come however long a read waits.
    error_reply_unterminated: bool = False
    #: A server was seen to leave a WHATSAT for a client it does not hold yet unanswered (the
    #: connection left open) while a record was on its way: from then on, each ask of a wait
    #: for a record to spread waits only ``replay_silence_s`` (CheckContext.wait_for_line).
    whatsat_silent_while_waiting: bool = False
    #: How long a replay waits for a reply where its first attempt waited the whole reply
    #: timeout and got nothing, on a connection the server left open: the first attempt already
    #: showed the silence, the replay only confirms that it comes back (a herd whose handler
    #: crashed on a line would otherwise cost two timeouts per check).
    replay_silence_s: float = 1.0
    dialect: Dialect = field(default_factory=Dialect)
    #: The bound ``stored_line`` asks with (the probe sets 0 when the target accepts it);
    #: None when no WHATSAT shows a record.
    lookup_bound: int | None = 1
    #: A WHATSAT with a bound above 0 gets places (the probe finds out).
    places_work: bool = True
    #: The dialect step's probes (None until it ran).
    dialect_probes: DialectProbes | None = None
    #: The herd claims the catch-up extension (CATCHUP-1): the model then owes more.
    catch_up: bool = False
    #: Seconds one check may take (its waits are cut to what is left; then it is UNSUPPORTED).
    check_budget_s: float = 30.0
    #: ``time.monotonic()`` by which the whole run must be over (None: no limit).
    run_deadline: float | None = None
    run_id: str = field(default_factory=lambda: f"{int(time.time() * 1000) % 100_000_000:08d}")
    #: The seed of the run's varied inputs (herdref.checker.variation); reports print it and
    #: ``--seed`` repeats it.
    seed: int = field(default_factory=new_seed)
    #: The herd answers client times without a fraction. iamat-any-time clears it when those
    #: alone are refused (LEX-6 strict); later checks then send times with a fraction, so that
    #: the one strict-only deviation is reported once.
    integer_times: bool = True
    #: What the run's checks have learned about the herd, shared as the dialect is (no flooding,
    #: one command per connection, a flood storm and the one server then run alone;
    #: herdref.checker.knowledge).
    knowledge: RunKnowledge = field(default_factory=RunKnowledge)
    #: Every location a check has sent in an IAMAT: a Places request centred on one of them is
    #: that client's, whichever check is running when it arrives (herdref.checker.places_attribution).
    sent_locations: set[bytes] = field(default_factory=set)
    #: Every client time an IAMAT of the run carried (a repeated one: knowledge.repeat_unanswered).
    sent_times: set[bytes] = field(default_factory=set)
    #: How the herd's Places requests are sent to the fixture, in words ("" without a fixture).
    route_taken: str = ""
    #: Where the --redirect-google look-ups are noted (herdref.checker.redirect), when installed.
    redirect_log: Path | None = None
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def places_route(self) -> str:
        """``route_taken``, or ROUTE_REDIRECT_UNUSED once the redirect shows that the herd's
        Python processes loaded it and never looked up a Google host (herdref.checker.redirect):
        then no Places request of the herd asked for Google by name."""
        if self.route_taken == ROUTE_REDIRECT and self.redirect_log is not None:
            seen = GoogleLookups.read(self.redirect_log)
            if seen.loaded and not seen.lookups:
                return ROUTE_REDIRECT_UNUSED
        return self.route_taken

    @property
    def names(self) -> list[str]:
        return list(self.config.servers)

    def run_time_left(self) -> float:
        """Seconds left of the run's time budget (infinite without one; 0 or less once spent)."""
        return float("inf") if self.run_deadline is None else self.run_deadline - time.monotonic()

    @property
    def running(self) -> list[str]:
        """The servers the run keeps running: all of them, except after a flood storm, when
        only one runs alone (herdref.checker.knowledge)."""
        return [name for name in self.names if name not in self.knowledge.kept_down]

    def next_serial(self) -> int:
        return next(self._serial)


class CheckContext:
    """What one check uses to talk to the herd; records its transcript."""

    def __init__(self, target: Target, check_name: str, *, budgeted: bool = True) -> None:
        self.target = target
        self.check_name = check_name
        self.transcript = Transcript()
        self.details: dict[str, Any] = {}
        deadline = time.monotonic() + target.check_budget_s if budgeted else float("inf")
        if budgeted and target.run_deadline is not None:
            deadline = min(deadline, target.run_deadline)
        #: ``time.monotonic()`` by which this check must be over (its time budget).
        self.deadline = deadline
        #: This check's varied inputs: the same for the same run seed, alone or among others.
        self.variation = Variation.for_check(target.seed, check_name, integer_times=target.integer_times)
        #: A strict-only difference seen on the way (SPEC 1.1), reported once the check has
        #: judged everything else: a difference the lenient profile allows must not stop it.
        self.strict_deviation: CheckFailed | None = None
        #: What this check learned about the herd, for the run's knowledge (kept if it fails).
        self.learned: dict[Fact, str] = {}
        #: long-lines: the longest line it saw answered (kept with ``long_lines_fail``).
        self.longest_line_answered = 0
        #: The exchanges of this attempt, counted in order, and those among them that waited
        #: the whole reply timeout in silence on a connection left open (see ``quick_waits``).
        self.exchanges = 0
        self._counting = threading.Lock()  # exchanges may run side by side (side_by_side)
        self.silent: list[int] = []
        #: Set by the runner on a replay: the exchanges (by order) whose first attempt waited
        #: the whole timeout in silence; here the wait is ``Target.replay_silence_s``.
        self.quick_waits: frozenset[int] = frozenset()
        #: Set by the runner for a check that reads malformed AT lines once at-reply-format
        #: named them (AT-1): its words. Such lines are then read for the report they carry.
        self.malformed_at: str | None = None
        if target.knowledge.alone is not None:
            self.transcript.note(
                f"only {target.knowledge.alone} runs, alone: its neighbours are stopped because the "
                "herd floods for ever (flood-storm), so no record can circulate"
            )

    def defer_strict(self, failure: CheckFailed) -> None:
        """Note a strict deviation and go on; the first one noted is the check's verdict if
        nothing else fails (NON-STRICT under lenient, FAIL under strict)."""
        self.transcript.note(f"strict deviation, noted: {failure.summary}")
        if self.strict_deviation is None:
            failure.strict_part = True
            self.strict_deviation = failure

    def judged(self, reply: Exchange) -> Exchange:
        """``reply``, unless the wait for it ran into the check's time budget: what a cut wait
        saw is not the herd's answer, so the check cannot judge it (BudgetSpent)."""
        if time.monotonic() >= self.deadline and not reply.closed and reply.error is None:
            raise BudgetSpent(f"the check ran out of {self.budget_words()} while waiting for a reply")
        return reply

    def remaining(self, wanted_s: float) -> float:
        """``wanted_s`` cut to the check's time budget; BudgetSpent when nothing is left."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BudgetSpent(f"the check ran out of {self.budget_words()} before it could judge")
        return min(wanted_s, left)

    def budget_words(self) -> str:
        """Which time budget this check's deadline is: the run's (``--budget``) when that ends
        first, else the check's own (``--check-budget``)."""
        run_deadline = self.target.run_deadline
        if run_deadline is not None and self.deadline >= run_deadline:
            return "the run's time budget (--budget; later checks are SKIPPED)"
        return f"its time budget ({self.target.check_budget_s:g} s per check)"

    # ---- fresh names and values ----------------------------------------------------------

    def client_id(self, label: str = "c") -> bytes:
        """A client ID no other check uses, of letters, digits and dots only (``kiwi.cs.ucla.edu``
        style): a herd that refuses other octets in IDs is told so once, by the lexical checks,
        not by every check that names a client."""
        words = f"{self.check_name}.{label}".replace("-", "")
        return f"hv{self.target.run_id}.{words}.{self.target.next_serial()}".encode()

    def location(self, *, south_east: bool = False) -> bytes:
        """A location no other check uses: Places requests for it are this check's. North and
        west, as the course's examples are, unless ``south_east`` (both signs turned: a herd
        that mishandles a '-' before the latitude or a '+' before the longitude shows it)."""
        serial = self.target.next_serial()
        latitude = 34.0 + (serial % 5000) / 10_000
        longitude = -118.0 - (serial // 5000 % 5000) / 10_000
        if south_east:
            # Five fraction digits, the last of them not 0: a herd that drops a digit (or the
            # last character) of a number moves the centre beyond the graders' tolerance.
            return f"{-latitude - 0.00007:+.5f}{-longitude + 0.00007:+.5f}".encode()
        return f"{latitude:+.6f}{longitude:+.6f}".encode()

    @staticmethod
    def now_time(offset_s: float = 0.0) -> bytes:
        return f"{time.time() + offset_s:.9f}".encode()

    # ---- talking -------------------------------------------------------------------------

    def address(self, name: str) -> tuple[str, int]:
        knowledge = self.target.knowledge
        if name in knowledge.kept_down:
            # After a flood storm only one server runs (herdref.checker.knowledge): a check
            # that needs another cannot judge, and says why, instead of failing to connect.
            raise CheckUnsupported(
                f"this check needs {name}, which is kept stopped: the herd floods for ever "
                f"({knowledge.floods_forever}), so only {knowledge.alone} runs, alone"
            )
        address = self.target.config.address(name)
        return address.host, address.port

    def send(
        self,
        name: str,
        payload: bytes,
        *,
        whatsat: bool = False,
        timeout_s: float | None = None,
        record: bool = True,
        linger: bool = True,
        past_reply: bool = False,
    ) -> Exchange:
        """Deliver ``payload`` in the framing the target answers for this kind of command, and
        read the reply in its dialect (its terminator turned into LF; ``raw`` keeps the octets).
        Without ``record`` the exchange stays out of the transcript (bulk traffic: a check
        notes what it sent instead). Without ``linger`` the read ends as soon as the reply's
        content is all in, its final terminator or not (a caller that reads only the record).
        With ``past_reply`` it goes on past the reply's end until the server closes or the
        linger passes in silence (what a herd writes after it on a connection it keeps open)."""
        framing = self.target.dialect.whatsat if whatsat else self.target.dialect.iamat
        read_to_close = past_reply or (framing.half_close and framing.server_closes)
        return self._exchange(
            name,
            payload,
            whatsat=whatsat,
            timeout_s=timeout_s,
            record=record,
            half_close=framing.half_close,
            until_complete=None if read_to_close else whatsat,
            linger=linger,
        )

    def raw(
        self,
        name: str,
        payload: bytes,
        *,
        timeout_s: float | None = None,
        replies: int = 1,
        half_close: bool = True,
    ) -> Exchange:
        """Send ``payload`` as it is and read the replies in the herd's dialect: half-closed (the
        framing checks that need EOF to end a line) unless ``half_close`` is false (a check that
        talks in a herd's kept-open framing); from a server that keeps its side open, until
        ``replies`` one-line replies are in."""
        return self._exchange(
            name,
            payload,
            whatsat=False,
            timeout_s=timeout_s,
            half_close=half_close,
            until_complete=None if self.target.dialect.iamat.server_closes else False,
            replies=replies,
        )

    def _exchange(
        self,
        name: str,
        payload: bytes,
        *,
        whatsat: bool,
        timeout_s: float | None,
        half_close: bool,
        until_complete: bool | None,
        replies: int = 1,
        record: bool = True,
        linger: bool = True,
    ) -> Exchange:
        """One :func:`herdref.checker.client.exchange` within the check's budget, recorded in
        its transcript (unless not ``record``), the reply read in the target's dialect."""
        framing = self.target.dialect.whatsat if whatsat else self.target.dialect.iamat
        # The dialect step saw this herd end its replies in nothing on a connection it keeps
        # open (AT-1 lenient): once a reply's content is all in (reply_state 'unterminated'),
        # no final LF will come however long the read waits, so the linger would only spend
        # the run's budget (0.5 s an exchange). A reply not yet whole is still read to its end.
        no_final_lf = framing.terminator == "none" and not framing.server_closes
        with self._counting:
            index, self.exchanges = self.exchanges, self.exchanges + 1
        wanted = self.target.timeout_s if timeout_s is None else timeout_s
        if index in self.quick_waits and self.target.replay_silence_s < wanted:
            wanted = self.target.replay_silence_s
            self.transcript.note(
                f"replay: the first attempt waited the whole reply timeout for this reply in silence, "
                f"the connection left open; waiting {wanted:g} s now"
            )
        wait_s = self.remaining(wanted)
        started = time.monotonic()
        reply = exchange(
            *self.address(name),
            payload,
            crlf=self.target.dialect.sends_crlf,
            greeting=self.target.dialect.greeting(name),
            transcript=self.transcript if record else None,
            server=name,
            half_close=half_close,
            timeout_s=wait_s,
            until_complete=until_complete,
            replies=replies,
            linger_s=0.0 if no_final_lf or not linger else self.target.linger_s,
            whatsat=whatsat,
            error_linger_s=0.0 if self.target.error_reply_unterminated else None,
        )
        if reply.complete and not reply.closed and reply.data.startswith(b"?") and b"\n" not in reply.data:
            self.target.error_reply_unterminated = True
        if (
            not reply.received
            and not reply.closed
            and reply.error is None
            and time.monotonic() - started >= wait_s
        ):
            self.silent.append(index)
        if reply.complete and half_close and until_complete is None:
            self._left_open(whatsat=whatsat)
        # A reply read whole and then left open ends where it ends, as if the server had closed.
        ended = reply.closed or reply.complete
        normalized = self.target.dialect.normalize(reply.data, whatsat=whatsat, closed=ended, server=name)
        request = payload.rstrip(b"\r\n").rpartition(b"\n")[2]
        if request.strip(WHITESPACE):
            normalized = self._without_stray_error(normalized, request, whatsat=whatsat, replies=replies)
        # A wait the check's budget cut short saw no answer of the herd's (BudgetSpent).
        return self.judged(replace(reply, data=normalized, raw=reply.data))

    def _without_stray_error(self, data: bytes, request: bytes, *, whatsat: bool, replies: int) -> bytes:
        """``data`` without a last line that is a '?' copying nothing, after the replies to a
        payload whose last line is a command (a herd that takes the empty read at the client's
        EOF for one more, blank, command and answers it '?', as FRAME-5 lenient lets a blank line
        be answered): the replies are judged by the check, the stray line noted here (FRAME-6's
        strict reading, nothing but replies, is not this exchange's to judge). A herd whose
        replies end in nothing glues that '?' to the reply's last line; it comes off too."""
        unglued = without_glued_stray_error(data, request, whatsat=whatsat, replies=replies)
        if unglued is not None:
            self.transcript.note(
                "the reply ended in a '?' glued to its last line (no LF before it): the herd's answer "
                "to the empty read at the client's EOF, as to a blank line (FRAME-5 lenient): not "
                "judged as part of the reply"
            )
            return unglued
        head, newline, last = data.removesuffix(b"\n").rpartition(b"\n")
        if not newline or last.strip(WHITESPACE) != b"?":
            return data
        self.transcript.note(
            f"after the reply came {data[len(head) + 1 :]!r}, a '?' that copies nothing (the herd's "
            "answer to the empty read at the client's EOF, as to a blank line: FRAME-5 lenient): not "
            "judged as part of the reply"
        )
        return head + b"\n"

    def _left_open(self, *, whatsat: bool) -> None:
        """The server kept a half-closed connection open after a whole reply, though the dialect
        step saw it close one (a herd that leaves closing to the garbage collector): from now on
        the reply, not the EOF, ends this command's exchanges, so that each costs no linger."""
        dialect = self.target.dialect
        framing = dialect.whatsat if whatsat else dialect.iamat
        if not framing.server_closes:
            return
        kept_open = replace(framing, server_closes=False)
        self.transcript.note(
            f"{'WHATSAT' if whatsat else 'IAMAT'} framing is now '{kept_open.describe()}': the server "
            "kept a half-closed connection open after a whole reply"
        )
        if whatsat:
            self.target.dialect = replace(dialect, whatsat=kept_open)
        else:
            self.target.dialect = replace(dialect, iamat=kept_open)

    def session(self, name: str) -> LineSession:
        return LineSession(
            *self.address(name),
            crlf=self.target.dialect.sends_crlf,
            greeting=self.target.dialect.greeting(name),
            transcript=self.transcript,
            server=name,
            timeout_s=self.remaining(self.target.timeout_s),
            linger_s=self.target.linger_s,
        )

    def iamat(self, name: str, client: bytes, location: bytes, client_time: bytes) -> Exchange:
        self.target.sent_locations.add(location)
        self.target.sent_times.add(client_time)
        reply = self.send(name, b"IAMAT %s %s %s\n" % (client, location, client_time))
        knowledge = self.target.knowledge
        late = knowledge.origin_record_missing
        if (
            late is not None
            and looks_like_at(reply.data)
            and knowledge.learned_by.get("origin_record_missing") != self.check_name
        ):
            # Kept only once a neighbour sends it back (STATE-1, origin-holds-record's): read at
            # once, the defect would show again. A round trip takes ms; none comes if all are down.
            # The check that named it (replayed) looks at once, as it did the first time.
            self.transcript.note(f"waiting until {name} holds the record ({late})")
            # Until it holds this report or a newer one: an earlier report's record, back from a
            # neighbour, is held while this one's round trip is still on its way.
            with contextlib.suppress(DeadlinePassed):
                wait_until(
                    lambda: holds_report_or_newer(
                        self.stored_line(name, client, silence_is_none=True), location, client_time
                    ),
                    deadline_s=self.remaining(min(1.0, self.target.propagation_s)),
                )
        return reply

    def whatsat(
        self,
        name: str,
        client: bytes,
        radius: bytes = b"10",
        bound: int | bytes = 1,
        *,
        linger: bool = True,
        timeout_s: float | None = None,
    ) -> Exchange:
        bound_field = bound if isinstance(bound, bytes) else b"%d" % bound
        request = b"WHATSAT %s %s %s\n" % (client, radius, bound_field)
        return self.send(name, request, whatsat=True, linger=linger, timeout_s=timeout_s)

    def stored_line(
        self, name: str, client: bytes, *, silence_is_none: bool = False, timeout_s: float | None = None
    ) -> bytes | None:
        """The AT line ``name`` answers a WHATSAT with, or None if it answers anything else.
        No answer at all (within ``timeout_s``, else the reply timeout) fails WHATSAT-4, unless
        ``silence_is_none`` (a server that must not hold the record: whatever it does with
        WHATSAT, it shows no record)."""
        if self.target.lookup_bound is None:
            raise records_unseen(self.target.knowledge, self.target.dialect_probes, self.target.places_route)
        unreadable = self.target.knowledge.records_unreadable
        if unreadable is not None:
            # whatsat-reply named it (WHATSAT-5): no WHATSAT shows which record a server holds,
            # and a wait for one to show would spend the propagation time for nothing.
            raise CheckBlocked("whatsat-reply", f"which record a server holds cannot be read: {unreadable}")
        # Only the AT line is read here: once the reply's content is all in, waiting for what
        # may follow it (the linger) is whatsat-reply's business (WHATSAT-5, WHATSAT-6), and
        # would cost every record read 0.5 s on a herd that keeps its connections open.
        answer = self.whatsat(name, client, bound=self.target.lookup_bound, linger=False, timeout_s=timeout_s)
        reply = answer.data
        if not reply and not silence_is_none:
            # Neither a record nor '?': the client cannot tell "no record" from this.
            raise CheckFailed(
                f"{name} answered a WHATSAT with nothing"
                + (" and closed the connection" if answer.closed else f" within {self.target.timeout_s:g} s"),
                expected="the record's AT line, or '? <line>' for a client it holds no record of",
                seen=f"nothing{f' ({answer.error})' if answer.error else ''}",
                clause="WHATSAT-4",
            )
        return self.held_line(reply)

    def held_line(self, reply: bytes) -> bytes | None:
        """The record's AT line a WHATSAT ``reply`` starts with (see :func:`record_line`), its
        white space squeezed once flood-all named relayed lines with other white space (FLOOD-5)."""
        return record_line(reply, squeeze=self.target.knowledge.relayed_spacing is not None)

    def wait_for_line(
        self, names: list[str], client: bytes, line: bytes, *, any_record: bool = False
    ) -> dict[str, bytes | None]:
        """Wait (with the propagation deadline) until every server in ``names`` answers with
        ``line``; returns what each answered last. Stops early when a server holds another
        line with the same client time: that record is final (FLOOD-2 keeps the first). With
        ``any_record``, a server that answers any AT line for the client counts as reached (a
        wait for a record to spread, not a judgement of the line: a herd whose WHATSAT
        rebuilds the AT line would otherwise keep the wait going to its deadline)."""
        seen: dict[str, bytes | None] = dict.fromkeys(names)
        pending = set(names)
        record = parse_at_line(line)
        client_time = at_client_time(line)  # by AT-1's shape where the grammar refuses its values

        # Once a server answered a WHATSAT with silence, each later ask waits only the short
        # replay silence, so that one silent ask does not spend the whole propagation time and
        # leave the record's arrival unseen (silence for a client a server does not hold yet is
        # unknown-client's business, WHATSAT-4, not evidence about flooding).
        target = self.target

        def settled() -> bool:
            final = False
            ask_s = target.replay_silence_s if target.whatsat_silent_while_waiting else None
            # Every pending server is asked each round, so that none is left unasked (None, as
            # if it held nothing) when another already shows a final, different line.
            # Side by side (one thread per server): each is its own process or listener.
            answers = ask_each(sorted(pending), lambda name: self.stored_line(name, client, timeout_s=ask_s))
            for name, answer in answers.items():
                if isinstance(answer, CheckFailed):
                    # No answer at all while the record may still be on its way (a herd that
                    # drops WHATSATs for clients it does not hold yet): ask again.
                    held = seen[name] = None
                    target.whatsat_silent_while_waiting = True
                elif isinstance(answer, Exception):
                    raise answer
                else:
                    held = seen[name] = answer
                # Any record that carries the report (a made-up answer for an unknown client is none).
                # A line naming the server asked is the record, arrived (require_flood says whose).
                named = held is not None and names_answering_server(held, line, name)
                reached = named or (any_record and carries_report_of(held, record))
                if held is not None and (reached or same_record(held, line, any_time_diff=True)):
                    # The record, possibly re-printed or with its time difference worked out
                    # again (require_flood judges which, and whether that is a failure).
                    pending.discard(name)
                elif held is not None and client_time is not None and held_final(held, client_time):
                    final = True
            return final or not pending

        wanted = self.target.propagation_s
        if self.target.knowledge.does_not_flood is not None:
            # The run knows records do not leave their server (flood-all named it, FLOOD-1):
            # waiting for this one to spread would spend the budget on a wait that cannot end.
            self.transcript.note(
                f"one look, no wait for the record to spread: {self.target.knowledge.does_not_flood}"
            )
            settled()
            return seen
        allowed = self.remaining(wanted)
        try:
            wait_until(settled, deadline_s=allowed)
        except DeadlinePassed:
            if allowed < wanted:
                raise BudgetSpent(
                    f"the check ran out of {self.budget_words()} while waiting for a record to spread"
                ) from None
            if target.whatsat_silent_while_waiting and pending:
                # A silent ask may have taken the time the record needed: one last round of
                # short asks sees a record that arrived meanwhile.
                self.transcript.note(
                    "the propagation time is over; one last look at the servers still waited for"
                )
                settled()
        return seen

    @property
    def launcher(self) -> Launcher | None:
        return self.target.launcher
