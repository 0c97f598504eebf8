"""How a herd frames its commands and replies, as the dialect step finds it (issue 11: "find
out once how the target frames input and output ... for IAMAT and for WHATSAT separately"):
the framing of each command, the dialect as a whole, and what the dialect step's probes saw.
Data only: :mod:`herdref.checker.dialect` finds them, :mod:`herdref.checker.target` talks in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from herdref.checker.client import Transcript
from herdref.model.judge import Terminator, split_line

__all__ = ["CommandFraming", "CommandProbe", "Dialect", "DialectProbes"]


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
        # The terminator is the one seen after the reply's first line (the AT line, or '?'):
        # how a WHATSAT reply's JSON ends is whatsat-reply's to judge, not the framing's.
        ending = {"LF": "LF", "CRLF": "CRLF", "none": "nothing"}[self.terminator]
        return f"{how}; the reply's first line ends in {ending}"


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
    #: The herd answers no line ended by LF alone, and every line ended by CR LF (FRAME-1,
    #: named by the dialect step): the checker then writes CR LF, so that the herd's other
    #: properties are judged rather than all BLOCKED by that one defect.
    sends_crlf: bool = False
    #: The line each server writes on every new connection before any command (a Twisted
    #: ``connectionMade`` greeting, often naming the server), by server: FRAME-6, named once by
    #: frame-greeting; every reply is read past it, so that the herd's other properties are judged.
    greetings: tuple[tuple[str, bytes], ...] = ()
    #: A check saw an IAMAT lost on a half-closed connection and answered on a kept-open one
    #: (its words); the IAMAT framing is kept open from then on, and frame-half-close names it.
    iamat_lost_on_half_close: str = ""

    def greeting(self, server: str) -> bytes:
        """What ``server`` writes first on every connection (b"": nothing)."""
        return next((line for name, line in self.greetings if name == server), b"")

    def describe(self) -> str:
        if not self.iamat_answered:
            return "IAMAT got no AT reply, with half-close or on a kept-open connection"
        whatsat = self.whatsat.describe() if self.whatsat_answered else "no reply that shows a record"
        if self.places_reply_cut_on_half_close:
            whatsat += " (on half-close a WHATSAT gets its AT line only, the JSON is lost)"
        elif self.places_reply_lost_on_half_close:
            whatsat += " (a WHATSAT waiting for Places is lost on half-close)"
        return f"IAMAT: {self.iamat.describe()}; WHATSAT: {whatsat}"

    def normalize(self, data: bytes, *, whatsat: bool, closed: bool, server: str = "") -> bytes:
        """``data`` with this dialect's reply terminator turned into LF, so that a check judges
        its own property; the terminator itself is the framing checks' business (AT-1). A
        single-line reply (an AT reply, or ``?`` to any line) ends as the IAMAT reply does."""
        greeting = self.greeting(server)
        if greeting and data.startswith(greeting):
            data = data[len(greeting) :]
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
    #: The fixture's log of the WHATSAT probes' Places requests (None: no fixture, no WHATSAT).
    places_requests: tuple[dict[str, Any], ...] | None = None
