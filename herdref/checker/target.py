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

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from herdref.checker.client import Exchange, LineSession, Transcript, exchange
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.knowledge import Fact, RunKnowledge
from herdref.checker.launcher import Launcher
from herdref.checker.variation import Variation, new_seed
from herdref.herd.config import HerdConfig
from herdref.model.judge import Terminator, looks_like_at, parse_at_line, same_record, split_line

if TYPE_CHECKING:
    from herdref.places.fixture import FixtureHandle

__all__ = [
    "BudgetSpent",
    "CheckContext",
    "CheckFailed",
    "CheckUnsupported",
    "CommandFraming",
    "CommandProbe",
    "Dialect",
    "DialectProbes",
    "Target",
]


def _client_time(line: bytes) -> bytes | None:
    record = parse_at_line(line)
    return None if record is None else record.client_time


def _final(held: bytes, client_time: bytes) -> bool:
    """``held`` has ``client_time`` (FLOOD-2 keeps the first record) or it cut short in its
    fraction (its line not read whole; a whole number may be an older record): it stays."""
    held_time = _client_time(held) or b""
    return held_time == client_time or (b"." in held_time and client_time.startswith(held_time))


class CheckUnsupported(Exception):
    """The check cannot judge this target (say why)."""


class CheckFailed(AssertionError):
    """The target broke the check's clause (or ``clause``, when given). ``strict_part`` says
    whether what broke binds only in the strict profile, when the clause's tag does not tell
    (see :func:`herdref.checker.grading.is_strict_only`)."""

    def __init__(
        self,
        summary: str,
        *,
        expected: str,
        seen: str,
        clause: str | None = None,
        strict_part: bool | None = None,
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.expected = expected
        self.seen = seen
        self.clause = clause
        self.strict_part = strict_part


class BudgetSpent(CheckUnsupported):
    """The check ran out of its time budget before it could judge anything (a herd that never
    answers, never closes or floods forever is judged in seconds, not in hours)."""


@dataclass(frozen=True, slots=True)
class CommandFraming:
    """How one command is delivered and its reply read: half-close and read (to EOF when the
    server closes, else to the end of one reply), or one reply on a kept-open connection; and
    how the herd ends its single-line replies (AT-1)."""

    half_close: bool = True
    #: The server closes after answering, so reading to EOF is cheap.
    server_closes: bool = True
    terminator: Terminator = "LF"

    def describe(self) -> str:
        if self.half_close:
            how = "half-close, read to EOF" if self.server_closes else "half-close, read one reply"
        else:
            how = "kept open, reply then close" if self.server_closes else "kept open"
        ending = {"LF": "LF", "CRLF": "CRLF", "none": "no final LF"}[self.terminator]
        return f"{how}; replies end in {ending}"


@dataclass(frozen=True, slots=True)
class Dialect:
    """The framing the herd answers, per command (found by :mod:`herdref.checker.dialect`)."""

    iamat: CommandFraming = field(default_factory=CommandFraming)
    whatsat: CommandFraming = field(default_factory=CommandFraming)
    #: IAMAT got an AT reply in some framing: without it nothing can be checked.
    iamat_answered: bool = True
    #: WHATSAT for a known client got a reply starting with an AT line in some framing.
    whatsat_answered: bool = True
    #: A WHATSAT that waits for Places got no reply, or its AT line only, when the client
    #: half-closed, but a whole one on a kept-open connection (FRAME-4: the server dropped what
    #: was still waiting at EOF); ``whatsat`` is then the
    #: kept-open framing, so that the WHATSAT checks still judge the herd's answers.
    places_reply_lost_on_half_close: bool = False
    #: When the half-closed WHATSAT got its AT line and then EOF (the JSON lost), that AT line.
    places_reply_cut_on_half_close: bytes = b""
    #: One command per connection (FRAME-3 lenient): the server closed a kept-open connection
    #: right after its first reply, or answers only once the client half-closes.
    single_shot: bool = False
    #: IAMAT is answered only once the client half-closes, never on a kept-open connection.
    read_to_eof: bool = False
    #: A kept-open connection gets the reply to its first IAMAT and none to a second one, though
    #: the server keeps it open (FRAME-3 lenient): a check that needs two commands on one
    #: connection would only wait out the reply timeout again.
    first_command_only: bool = False

    def describe(self) -> str:
        if not self.iamat_answered:
            return "IAMAT got no AT reply, with half-close or on a kept-open connection"
        whatsat = self.whatsat.describe() if self.whatsat_answered else "no reply that shows a record"
        if self.places_reply_cut_on_half_close:
            whatsat += " (on half-close a WHATSAT gets its AT line only, the JSON is lost)"
        elif self.places_reply_lost_on_half_close:
            whatsat += " (a WHATSAT waiting for Places is lost on half-close)"
        return f"IAMAT: {self.iamat.describe()}; WHATSAT: {whatsat}"

    def normalize(self, data: bytes, *, whatsat: bool, closed: bool) -> bytes:
        """``data`` with this dialect's reply terminator turned into LF, so that a check judges
        its own property; the terminator itself is the framing checks' business (AT-1). A
        single-line reply (an AT reply, or ``?`` to any line) ends as the IAMAT reply does."""
        single_line = not whatsat or data.startswith(b"?")
        framing = self.iamat if single_line else self.whatsat
        if framing.terminator == "CRLF":
            data = data.replace(b"\r\n", b"\n")
        elif framing.terminator == "none" and closed and data and single_line and not data.endswith(b"\n"):
            data += b"\n"
        return data


class CommandProbe:
    """What one command got in each framing (the raw octets are kept for the reports)."""

    def __init__(self) -> None:
        self.half_close_reply = b""
        self.half_close_answered = False
        self.half_close_closed = False
        self.kept_open_reply = b""
        self.kept_open_answered = False
        self.kept_open_closed = False
        #: What a second command on the kept-open connection got, once the first was answered
        #: and the server kept the connection open (None: no second command was sent).
        self.second_reply: bytes | None = None
        self.second_answered = False
        self.second_closed = False

    @property
    def first_command_only(self) -> bool:
        """The kept-open connection got the reply to its first command and nothing at all for a
        second (FRAME-3 lenient: one command per connection). Another reply to the second (a
        '?') is no such thing: frame-keep-open judges it on a connection of its own."""
        return self.second_reply is not None and not self.second_answered and not self.second_reply.strip()

    def framing(self) -> CommandFraming | None:
        """The framing to use for this command; None when neither way answered."""
        if self.half_close_answered:
            return CommandFraming(
                half_close=True,
                server_closes=self.half_close_closed,
                terminator=_terminator(self.half_close_reply),
            )
        if self.kept_open_answered:
            return CommandFraming(
                half_close=False,
                server_closes=self.kept_open_closed,
                terminator=_terminator(self.kept_open_reply),
            )
        return None


def _terminator(reply: bytes) -> Terminator:
    """How the first line of ``reply`` ended (AT-1)."""
    first, newline, _ = reply.partition(b"\n")
    split = split_line(first + newline)
    return "LF" if split is None else split[1]


@dataclass(frozen=True, slots=True)
class DialectProbes:
    """What the dialect step saw, kept so that the framing checks judge its probes instead of
    sending them again (each costs up to two reply timeouts on a herd that only answers after
    a half-close: "find out once", issue 11)."""

    iamat: CommandProbe
    whatsat: CommandProbe
    #: The wire record of the probes, shown again by each check that judges them.
    transcript: Transcript


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
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

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
        #: The exchanges of this attempt, counted in order, and those among them that waited
        #: the whole reply timeout in silence on a connection left open (see ``quick_waits``).
        self.exchanges = 0
        self.silent: list[int] = []
        #: Set by the runner on a replay: the exchanges (by order) whose first attempt waited
        #: the whole timeout in silence; here the wait is ``Target.replay_silence_s``.
        self.quick_waits: frozenset[int] = frozenset()
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

    def location(self) -> bytes:
        """A location no other check uses: Places requests for it are this check's."""
        serial = self.target.next_serial()
        latitude = 34.0 + (serial % 5000) / 10_000
        longitude = -118.0 - (serial // 5000 % 5000) / 10_000
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
    ) -> Exchange:
        """Deliver ``payload`` in the framing the target answers for this kind of command, and
        read the reply in its dialect (its terminator turned into LF; ``raw`` keeps the octets).
        Without ``record`` the exchange stays out of the transcript (bulk traffic: a check
        notes what it sent instead)."""
        framing = self.target.dialect.whatsat if whatsat else self.target.dialect.iamat
        return self._exchange(
            name,
            payload,
            whatsat=whatsat,
            timeout_s=timeout_s,
            record=record,
            half_close=framing.half_close,
            until_complete=None if framing.half_close and framing.server_closes else whatsat,
        )

    def raw(self, name: str, payload: bytes, *, timeout_s: float | None = None, replies: int = 1) -> Exchange:
        """Half-close, whatever the herd's framing, and read in its dialect (for the framing
        checks, which need EOF to end a line); from a server that keeps its side open, until
        ``replies`` one-line replies are in."""
        return self._exchange(
            name,
            payload,
            whatsat=False,
            timeout_s=timeout_s,
            half_close=True,
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
    ) -> Exchange:
        """One :func:`herdref.checker.client.exchange` within the check's budget, recorded in
        its transcript (unless not ``record``), the reply read in the target's dialect."""
        host, port = self.address(name)
        framing = self.target.dialect.whatsat if whatsat else self.target.dialect.iamat
        # The dialect step saw this herd end its replies in nothing on a connection it keeps
        # open (AT-1 lenient): once a reply's content is all in (reply_state 'unterminated'),
        # no final LF will come however long the read waits, so the linger would only spend
        # the run's budget (0.5 s an exchange). A reply not yet whole is still read to its end.
        no_final_lf = framing.terminator == "none" and not framing.server_closes
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
            host,
            port,
            payload,
            transcript=self.transcript if record else None,
            server=name,
            half_close=half_close,
            timeout_s=wait_s,
            until_complete=until_complete,
            replies=replies,
            linger_s=0.0 if no_final_lf else self.target.linger_s,
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
        normalized = self.target.dialect.normalize(reply.data, whatsat=whatsat, closed=ended)
        # A wait the check's budget cut short saw no answer of the herd's (BudgetSpent).
        return self.judged(replace(reply, data=normalized, raw=reply.data))

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
        host, port = self.address(name)
        return LineSession(
            host,
            port,
            transcript=self.transcript,
            server=name,
            timeout_s=self.remaining(self.target.timeout_s),
            linger_s=self.target.linger_s,
        )

    def iamat(self, name: str, client: bytes, location: bytes, client_time: bytes) -> Exchange:
        return self.send(name, b"IAMAT %s %s %s\n" % (client, location, client_time))

    def whatsat(self, name: str, client: bytes, radius: bytes = b"10", bound: int = 1) -> Exchange:
        return self.send(name, b"WHATSAT %s %s %d\n" % (client, radius, bound), whatsat=True)

    def stored_line(self, name: str, client: bytes, *, silence_is_none: bool = False) -> bytes | None:
        """The AT line ``name`` answers a WHATSAT with, or None if it answers anything else.
        No answer at all fails WHATSAT-4, unless ``silence_is_none`` (a server that must not
        hold the record: whatever it does with WHATSAT, it shows no record)."""
        if self.target.lookup_bound is None:
            raise CheckUnsupported(
                "WHATSAT never shows a record on this herd (bound 0 refused and Places requests fail), "
                "so what each server holds cannot be seen: give it {places_url}/$PLACES_URL, or use "
                "--redirect-google or --isolate"
            )
        answer = self.whatsat(name, client, bound=self.target.lookup_bound)
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
        if not looks_like_at(reply):
            return None
        return reply.partition(b"\n")[0]

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
        client_time = record.client_time if record is not None else None

        def settled() -> bool:
            final = False
            # Every pending server is asked each round, so that none is left unasked (None, as
            # if it held nothing) when another already shows a final, different line.
            for name in sorted(pending):
                try:
                    held = seen[name] = self.stored_line(name, client)
                except CheckFailed:
                    # No answer at all while the record may still be on its way (a herd that
                    # drops WHATSATs for clients it does not hold yet): ask again.
                    held = seen[name] = None
                if held is not None and (any_record or same_record(held, line, any_time_diff=True)):
                    # The record, possibly re-printed or with its time difference worked out
                    # again (require_flood judges which, and whether that is a failure).
                    pending.discard(name)
                elif held is not None and client_time is not None and _final(held, client_time):
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
        return seen

    @property
    def launcher(self) -> Launcher | None:
        return self.target.launcher
