"""The black-box checks: each one sends real lines over TCP and judges only what a client sees.

Each check names the SPEC.md clause it enforces and that clause's level (MUST or SHOULD). A
check either returns (it passed), raises :class:`CheckFailed` with what was expected and what
was seen (a failure may name a more precise clause than the check's own), or raises
:class:`CheckUnsupported` when the target cannot be checked this way (an attached herd cannot
be killed; Places requests that never reach the fixture cannot be inspected).

Checks that kill, pause or restart servers are ``destructive``: they need the checker to run
the herd (``--launch`` or the reference herd) and leave every server running when they end.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from herdref.checker.client import Exchange, reply_complete
from herdref.checker.launcher import Launcher
from herdref.checker.target import CheckContext, CheckUnsupported, Target, components, wait_until

__all__ = [
    "CHECKS",
    "Check",
    "CheckFailed",
    "CheckUnsupported",
    "Level",
    "echo_numerically_equal",
    "select_checks",
]

Level = Literal["MUST", "SHOULD"]
Profile = Literal["quick", "full"]

_AT_FIELDS: Final = 6
# AT-2 in every profile: a sign, digits, and (lenient) any number of fractional digits or none.
_TIME_DIFF_RE: Final = re.compile(rb"[+-][0-9]+(?:\.[0-9]+)?")
_NINE_DIGIT_DIFF_RE: Final = re.compile(rb"[+-][0-9]+\.[0-9]{9}")
_LOCATION_RE: Final = re.compile(rb"([+-][0-9]{1,3}(?:\.[0-9]+)?)([+-][0-9]{1,3}(?:\.[0-9]+)?)")
#: Graders compare coordinates within 1e-5 degrees; float round-trips stay far inside that.
_LOCATION_TOLERANCE: Final = Decimal("0.00001")
#: A float holds a 2020s POSIX time to about 2.4e-7 s.
_TIME_TOLERANCE: Final = Decimal("0.000001")
_SKEW_OFFSET_S: Final = 3600


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


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    clause: str
    level: Level
    title: str
    run: Callable[[CheckContext], None]
    destructive: bool = False
    #: Run in the quick profile too (the ten-pair sweep and long runs are full-profile only).
    quick: bool = True
    needs_fixture: bool = False
    #: Left out of the full profile, which runs a check that covers it.
    quick_only: bool = False
    #: Checks the catch-up extension (CATCHUP-1): only for herds that claim it.
    catch_up: bool = False
    #: True: tests the ``Strict:`` part of a core clause; False: tests a strict clause's lenient
    #: alternative (binds in every profile); None: as SPEC.md tags the clause (SPEC 1.1).
    strict_part: bool | None = None


CHECKS: list[Check] = []


def check(
    name: str,
    clause: str,
    level: Level,
    title: str,
    *,
    destructive: bool = False,
    quick: bool = True,
    needs_fixture: bool = False,
    quick_only: bool = False,
    catch_up: bool = False,
    strict_part: bool | None = None,
) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    def register(function: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        CHECKS.append(
            Check(
                name,
                clause,
                level,
                title,
                function,
                destructive,
                quick,
                needs_fixture,
                quick_only,
                catch_up,
                strict_part,
            )
        )
        return function

    return register


def select_checks(
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    profile: Profile = "full",
    destructive_allowed: bool = True,
    catch_up: bool = False,
) -> tuple[list[Check], list[tuple[Check, str]]]:
    """The checks to run, and those left out with the reason. ``only``/``skip`` match a check
    name or a clause ID (``FLOOD-1``) or a clause family (``FLOOD``)."""
    only_set, skip_set = set(only), set(skip)

    def matches(item: Check, keys: set[str]) -> bool:
        return bool({item.name, item.clause, item.clause.split("-")[0]} & keys)

    chosen: list[Check] = []
    left_out: list[tuple[Check, str]] = []
    for item in CHECKS:
        if only_set and not matches(item, only_set):
            continue
        if matches(item, skip_set):
            continue
        if item.catch_up and not catch_up:
            left_out.append((item, "the catch-up extension is not claimed (--catch-up)"))
            continue
        if item.destructive and not destructive_allowed:
            left_out.append((item, "kills or pauses servers: not done to an attached herd"))
            continue
        if profile == "quick" and not item.quick and not (only_set and matches(item, only_set)):
            left_out.append((item, "full profile only"))
            continue
        if profile == "full" and item.quick_only and not (only_set and item.name in only_set):
            continue
        chosen.append(item)
    return chosen, left_out


# ---- helpers -------------------------------------------------------------------------------


def _show(data: bytes | None) -> str:
    return "nothing" if data is None else repr(data)


def _expect_exact(context: CheckContext, name: str, payload: bytes, expected: bytes, summary: str) -> None:
    reply = context.send(name, payload)
    if reply.data != expected:
        seen = _show(reply.data) + (f" ({reply.error})" if reply.error else "")
        raise CheckFailed(summary, expected=repr(expected), seen=seen)


def _error_for(line: bytes) -> bytes:
    """ERR-1/ERR-2: ``? `` plus the line minus its LF and one CR before it."""
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    return b"? " + line + b"\n"


def _at_reply(context: CheckContext, name: str, client: bytes, location: bytes, client_time: bytes) -> bytes:
    """Send an IAMAT that must be accepted; return the AT line (no LF) or fail IAMAT-4."""
    reply = context.iamat(name, client, location, client_time)
    if not reply.data.startswith(b"AT ") or not reply.data.endswith(b"\n"):
        raise CheckFailed(
            f"{name} did not answer a valid IAMAT with an AT line",
            expected=f"b'AT {name} <time-diff> {client.decode(errors='replace')} ...\\n'",
            seen=_show(reply.data) + (f" ({reply.error})" if reply.error else ""),
            clause="IAMAT-4",
        )
    return reply.data.split(b"\n", 1)[0]


def _same_time(seen: bytes, sent: bytes) -> bool:
    """Numerically the same client time (exact echo is echo-exact's business, IAMAT-5)."""
    seen_value, sent_value = _decimal(seen), _decimal(sent)
    return (
        seen_value is not None and sent_value is not None and abs(seen_value - sent_value) <= _TIME_TOLERANCE
    )


def _fields(at_line: bytes) -> list[bytes]:
    return at_line.split(b" ")


def echo_numerically_equal(sent: tuple[bytes, bytes], seen: tuple[bytes, bytes]) -> bool:
    """IAMAT-5's lenient alternative: the echoed location and client time are numerically
    equal (within the tolerances graders use) to ``sent``, both ``(location, client_time)``."""
    sent_match, seen_match = _LOCATION_RE.fullmatch(sent[0]), _LOCATION_RE.fullmatch(seen[0])
    sent_time, seen_time = _decimal(sent[1]), _decimal(seen[1])
    if sent_match is None or seen_match is None or sent_time is None or seen_time is None:
        return False
    return abs(sent_time - seen_time) <= _TIME_TOLERANCE and all(
        abs(Decimal(a.decode()) - Decimal(b.decode())) <= _LOCATION_TOLERANCE
        for a, b in zip(sent_match.groups(), seen_match.groups(), strict=True)
    )


def _decimal(text: bytes) -> Decimal | None:
    try:
        return Decimal(text.decode("ascii"))
    except (InvalidOperation, UnicodeDecodeError):
        return None


def _need_launcher(context: CheckContext) -> Launcher:
    if context.launcher is None:
        raise CheckUnsupported("needs to kill or pause servers: run with --launch or on the reference herd")
    return context.launcher


def _neighbours(target: Target, name: str) -> list[str]:
    return list(target.config.neighbours(name))


def _reachable_without(target: Target, origin: str, down: set[str]) -> set[str]:
    alive = set(target.names) - down
    for component in components(alive, target.config.links):
        if origin in component:
            return component
    return set()


@contextlib.contextmanager
def _failure_as(summary: str, *, clause: str | None = None) -> Iterator[None]:
    """Restate a failure inside the block in this check's words (and ``clause``, or the check's
    own clause when None)."""
    try:
        yield
    except CheckFailed as failure:
        raise CheckFailed(summary, expected=failure.expected, seen=failure.seen, clause=clause) from None


def _require_flood(
    context: CheckContext, origin: str, holders: Iterable[str], client: bytes, line: bytes
) -> None:
    """FLOOD-1/FLOOD-5: every server in ``holders`` answers with ``line`` in time."""
    names = sorted(set(holders) - {origin})
    if not names:
        return
    seen = context.wait_for_line(names, client, line)
    wrong = {name: got for name, got in seen.items() if got is not None and got != line}
    missing = [name for name, got in seen.items() if got is None]
    if wrong:
        name, got = next(iter(wrong.items()))
        raise CheckFailed(
            f"{name} holds a different AT line for the record {origin} received: relayed AT lines "
            "must be the same line on every server",
            expected=repr(line),
            seen=repr(got),
            clause="FLOOD-5",
        )
    if missing:
        raise CheckFailed(
            f"the record {origin} received never reached {', '.join(missing)} "
            f"(waited {context.target.propagation_s:g} s)",
            expected=f"{', '.join(missing)} answer WHATSAT with {line!r}",
            seen="; ".join(f"{name}: no record" for name in missing),
            clause="FLOOD-1",
        )


# ---- framing -------------------------------------------------------------------------------


@check("frame-half-close", "FRAME-4", "MUST", "a command, then half-close: the reply, then the server closes")
def frame_half_close(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    reply = context.raw(name, b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
    if not reply.data.startswith(b"AT "):
        raise CheckFailed(
            "no AT reply to an IAMAT followed by a half-close",
            expected="an AT line",
            seen=_show(reply.data) + (f" ({reply.error})" if reply.error else ""),
        )
    if not reply.closed:
        raise CheckFailed(
            "the server answered but did not close the connection after the client half-closed",
            expected="EOF after the reply",
            seen=f"connection still open after {context.target.timeout_s:g} s",
        )


@check("frame-keep-open", "FRAME-3", "MUST", "many commands, one at a time, on one kept-open connection")
def frame_keep_open(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    with context.session(name) as session:
        for round_number in range(3):
            session.send(b"IAMAT %s %s %s\n" % (client, location, context.now_time(round_number * 1e-3)))
            reply = session.read_reply()
            if reply is None or not reply.startswith(b"AT "):
                raise CheckFailed(
                    f"no AT reply to command {round_number + 1} on a kept-open connection",
                    expected="one AT line per IAMAT, without closing the connection",
                    seen=_show(reply if reply is not None else session.buffer or None),
                )
        if context.target.lookup_bound is None:
            return  # no WHATSAT shows a record here (Places fails); the IAMATs were the test
        session.send(b"WHATSAT %s 10 %d\n" % (client, context.target.lookup_bound))
        reply = session.read_reply(whatsat=True)
        if reply is None or not reply.startswith(b"AT "):
            raise CheckFailed(
                "no WHATSAT reply after three IAMATs on the same connection",
                expected="the stored AT line, the JSON, an empty line",
                seen=_show(reply if reply is not None else session.buffer or None),
            )


@check("frame-crlf", "ERR-2", "MUST", "CRLF line ends: CR is white space; a ? reply drops the CR")
def frame_crlf(context: CheckContext) -> None:
    name = context.target.names[0]
    client, location, client_time = context.client_id(), context.location(), context.now_time()
    line = _at_reply_crlf(context, name, client, location, client_time)
    fields = _fields(line)
    if len(fields) != _AT_FIELDS or not _same_time(fields[5], client_time):
        raise CheckFailed(
            "the CR of a CRLF line end leaked into the AT reply",
            expected=f"the client time {client_time!r} as the last field",
            seen=repr(line),
            clause="FRAME-1",
        )
    bad = b"IAMAT %s %s never\r\n" % (client, location)
    _expect_exact(context, name, bad, _error_for(bad), "a ? reply to a CRLF line must drop the CR")


def _at_reply_crlf(
    context: CheckContext, name: str, client: bytes, location: bytes, client_time: bytes
) -> bytes:
    reply = context.send(name, b"IAMAT %s %s %s\r\n" % (client, location, client_time))
    if not reply.data.startswith(b"AT "):
        raise CheckFailed(
            "an IAMAT ending in CRLF was not accepted",
            expected="an AT line",
            seen=_show(reply.data),
            clause="FRAME-1",
        )
    return reply.data.split(b"\n", 1)[0]


@check("frame-no-final-newline", "FRAME-2", "MUST", "a final line without LF, ended by EOF, is a command")
def frame_no_final_newline(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    reply = context.raw(name, b"IAMAT %s %s %s" % (client, context.location(), context.now_time()))
    if not reply.data.startswith(b"AT "):
        raise CheckFailed(
            "an IAMAT without a final LF, then EOF, got no AT reply",
            expected="an AT line",
            seen=_show(reply.data) + (f" ({reply.error})" if reply.error else ""),
        )
    bad = b"IAMAT %s +12-118 never" % client
    reply = context.raw(name, bad)
    if reply.data != _error_for(bad):
        raise CheckFailed(
            "an invalid command without a final LF got the wrong reply",
            expected=repr(_error_for(bad)),
            seen=_show(reply.data),
        )


@check("frame-pipelined", "FRAME-3", "MUST", "two commands in one packet: two replies, in order")
def frame_pipelined(context: CheckContext) -> None:
    name = context.target.names[0]
    first, second = context.client_id("first"), context.client_id("second")
    location, client_time = context.location(), context.now_time()
    payload = b"IAMAT %s %s %s\nIAMAT %s %s %s\n" % (
        first,
        location,
        client_time,
        second,
        location,
        client_time,
    )
    reply = context.raw(name, payload)
    lines = reply.data.split(b"\n")
    ok = (
        len(lines) == 3
        and lines[2] == b""
        and all(line.startswith(b"AT ") for line in lines[:2])
        and _fields(lines[0])[3:4] == [first]
        and _fields(lines[1])[3:4] == [second]
    )
    if not ok:
        raise CheckFailed(
            "two IAMATs sent in one packet did not get two AT replies in order",
            expected=f"AT ... {first!r} ..., then AT ... {second!r} ...",
            seen=_show(reply.data),
        )


@check("frame-blank-lines", "FRAME-5", "MUST", "blank and white-space-only lines get no reply")
def frame_blank_lines(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    reply = context.raw(
        name, b"\n \t \n\r\nIAMAT %s %s %s\n" % (client, context.location(), context.now_time())
    )
    if not (reply.data.startswith(b"AT ") and reply.data.count(b"\n") == 1):
        raise CheckFailed(
            "blank lines before an IAMAT were answered",
            expected="exactly one AT line",
            seen=_show(reply.data),
        )


@check("frame-single-write", "FRAME-6", "SHOULD", "each reply arrives whole in one read (one write)")
def frame_single_write(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    host, port = context.address(name)
    payloads = [
        (b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()), False),
        (b"WHATSAT %s 10 5\n" % client, True),
    ]
    for payload, whatsat in payloads:
        context.transcript.add(name, "send", payload)
        with socket.create_connection((host, port), timeout=context.target.timeout_s) as connection:
            connection.sendall(payload)
            connection.shutdown(socket.SHUT_WR)
            first = connection.recv(65_536)
            context.transcript.add(name, "recv", first)
        if not reply_complete(first, whatsat=whatsat):
            raise CheckFailed(
                "the first read returned part of a reply: the server wrote it in pieces",
                expected="the whole reply in the first read, as clients that read once expect",
                seen=f"first read: {first!r}",
            )


# ---- IAMAT and the AT reply ----------------------------------------------------------------


@check("iamat-any-time", "IAMAT-6", "MUST", "client times far from the server's clock are accepted")
def iamat_any_time(context: CheckContext) -> None:
    name = context.target.names[0]
    for client_time in (b"0", b"1.5", b"1000000000.000000001", b"4102444800.999999999"):
        client = context.client_id()
        reply = context.iamat(name, client, context.location(), client_time)
        if not reply.data.startswith(b"AT "):
            raise CheckFailed(
                f"an IAMAT with client time {client_time.decode()} was refused",
                expected="an AT line (skew shows in the time difference)",
                seen=_show(reply.data),
            )


@check("location-edges", "LEX-5", "MUST", "locations on the range limits (±90, ±180) are accepted")
def location_edges(context: CheckContext) -> None:
    name = context.target.names[0]
    for location in (b"+90-180", b"-90.000+180.000", b"+0.0-0.0", b"-1+001"):
        client = context.client_id()
        reply = context.iamat(name, client, location, context.now_time())
        fields = reply.data.removesuffix(b"\n").split(b" ")
        if not reply.data.startswith(b"AT ") or fields[3:4] != [client]:
            raise CheckFailed(
                f"an IAMAT at {location.decode()} was refused",
                expected="an AT line",
                seen=_show(reply.data),
            )


@check(
    "at-reply-format", "AT-1", "MUST", "AT <server> <time-diff> <client> <location> <time>, single spaces, LF"
)
def at_reply_format(context: CheckContext) -> None:
    for name in context.target.names:
        client, location, client_time = context.client_id(), context.location(), context.now_time()
        line = _at_reply(context, name, client, location, client_time)
        fields = _fields(line)
        if (
            len(fields) != _AT_FIELDS
            or fields[0] != b"AT"
            or fields[1] != name.encode()
            or fields[3] != client
        ):
            raise CheckFailed(
                f"{name}'s AT reply is not 'AT {name} <time-diff> <client> <location> <time>'",
                expected=repr(b"AT %s <diff> %s %s %s" % (name.encode(), client, location, client_time)),
                seen=repr(line),
            )
        if line.endswith(b"\r"):
            # AT-1: "Strict: LF and nothing else. Lenient: CRLF".
            raise CheckFailed(
                f"{name}'s AT reply ends in CRLF",
                expected="the AT line followed by LF alone",
                seen=repr(line + b"\n"),
                strict_part=True,
            )


# IAMAT-5's lenient alternative ("numerically equal") binds in every profile.
@check(
    "echo-numeric",
    "IAMAT-5",
    "MUST",
    "the AT reply repeats location and time (numerically)",
    strict_part=False,
)
def echo_numeric(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    client_time = b"%d.959498503" % int(time.time())
    line = _at_reply(context, name, client, location, client_time)
    fields = _fields(line)
    if len(fields) != _AT_FIELDS:
        raise CheckFailed(
            "the AT reply has not six fields", expected="6 fields", seen=repr(line), clause="AT-1"
        )
    sent_match = _LOCATION_RE.fullmatch(location)
    seen_match = _LOCATION_RE.fullmatch(fields[4])
    assert sent_match is not None
    close = seen_match is not None and all(
        abs(Decimal(sent.decode()) - Decimal(seen.decode())) <= _LOCATION_TOLERANCE
        for sent, seen in zip(sent_match.groups(), seen_match.groups(), strict=True)
    )
    if not close:
        raise CheckFailed(
            "the AT reply's location is not the one the client sent",
            expected=f"{location!r} (within 1e-5 degrees)",
            seen=repr(fields[4]),
        )
    seen_time = _decimal(fields[5])
    if seen_time is None or abs(seen_time - Decimal(client_time.decode())) > _TIME_TOLERANCE:
        raise CheckFailed(
            "the AT reply's client time is not the one the client sent",
            expected=f"{client_time!r} (within 1e-6 s)",
            seen=repr(fields[5]),
        )


@check("echo-exact", "IAMAT-5", "MUST", "the AT reply repeats the client's strings byte for byte")
def echo_exact(context: CheckContext) -> None:
    name = context.target.names[0]
    cases = [
        (b"+34.068930-118.445127", b"%d.959498503" % int(time.time())),
        (b"+34.5-118.0", b"%d" % int(time.time())),
        (b"+01.100000+002.200000", b"%d.100000000" % int(time.time())),
    ]
    for location, client_time in cases:
        client = context.client_id()
        line = _at_reply(context, name, client, location, client_time)
        fields = _fields(line)
        if fields[3:] != [client, location, client_time]:
            raise CheckFailed(
                "the AT reply changed the client's strings (a number was parsed and re-printed)",
                expected=b" ".join((client, location, client_time)).decode(),
                seen=b" ".join(fields[3:]).decode(errors="replace"),
            )


@check("skew", "AT-2", "MUST", "time difference: signed ('+' when >= 0), decimal, and right")
def skew(context: CheckContext) -> None:
    name = context.target.names[0]
    for offset in (-_SKEW_OFFSET_S, _SKEW_OFFSET_S):
        client = context.client_id()
        sent_at = time.time()
        client_time = f"{sent_at + offset:.9f}".encode()
        line = _at_reply(context, name, client, context.location(), client_time)
        received_by = time.time()
        fields = _fields(line)
        diff = fields[2] if len(fields) == _AT_FIELDS else b""
        if _TIME_DIFF_RE.fullmatch(diff) is None:
            raise CheckFailed(
                "the time difference is not a signed decimal ('+' or '-', digits, optional fraction)",
                expected="+3600.000123456 or -3599.999876543",
                seen=repr(diff),
            )
        value = float(diff)
        low, high = sent_at - float(client_time) - 1.0, received_by - float(client_time) + 1.0
        if not low <= value <= high:
            raise CheckFailed(
                "the time difference is not server time minus client time",
                expected=f"between {low:+.3f} and {high:+.3f}",
                seen=repr(diff),
            )


# AT-2: "Strict: ... exactly nine fractional digits"; lenient allows any number.
@check("skew-nine-digits", "AT-2", "MUST", "the time difference has nine fractional digits", strict_part=True)
def skew_nine_digits(context: CheckContext) -> None:
    name = context.target.names[0]
    line = _at_reply(context, name, context.client_id(), context.location(), context.now_time(-1))
    diff = _fields(line)[2] if len(_fields(line)) == _AT_FIELDS else b""
    if _NINE_DIGIT_DIFF_RE.fullmatch(diff) is None:
        raise CheckFailed(
            "the time difference has not nine fractional digits", expected="+S.NNNNNNNNN", seen=repr(diff)
        )


# ---- invalid lines -------------------------------------------------------------------------


def _invalid_lines(context: CheckContext, lines: list[bytes], summary: str) -> None:
    name = context.target.names[0]
    for line in lines:
        payload = line + b"\n"
        _expect_exact(context, name, payload, _error_for(payload), f"{summary}: {line!r}")
    _alive_after(context, name)


def _alive_after(context: CheckContext, name: str) -> None:
    """The server still answers after the bad input (ERR-4: the server never dies or hangs)."""
    with _failure_as(f"{name} no longer answers after the bad input", clause="ERR-4"):
        _at_reply(context, name, context.client_id("alive"), context.location(), context.now_time())


@check("invalid-command", "LEX-4", "MUST", "unknown and lower-case command words get '? <line>'")
def invalid_command(context: CheckContext) -> None:
    client = context.client_id()
    loc, when = context.location(), context.now_time()
    _invalid_lines(
        context,
        [
            b"AS Clark +0.25 %s +12-118 1234" % client,
            b"HELLO",
            b"iamat %s %s %s" % (client, loc, when),
            b"Whatsat %s 10 5" % client,
            b"IAMAT%s" % client,
        ],
        "not answered '? <line>'",
    )


@check("invalid-field-count", "ERR-3", "MUST", "IAMAT/WHATSAT with too few or too many fields get '? <line>'")
def invalid_field_count(context: CheckContext) -> None:
    client = context.client_id()
    loc, when = context.location(), context.now_time()
    _invalid_lines(
        context,
        [
            b"IAMAT %s %s" % (client, loc),
            b"IAMAT %s %s %s extra" % (client, loc, when),
            b"IAMAT",
            b"WHATSAT %s 10" % client,
            b"WHATSAT %s 10 5 5" % client,
        ],
        "wrong field count not answered '? <line>'",
    )


@check("invalid-location", "LEX-5", "MUST", "locations that are not ISO 6709 ±lat±long in range get '?'")
def invalid_location(context: CheckContext) -> None:
    client, when = context.client_id(), context.now_time()
    _invalid_lines(
        context,
        [
            b"IAMAT %s %s %s" % (client, location, when)
            for location in (
                b"34.068930-118.445127",
                b"+34.068930",
                b"+91.0-118.0",
                b"+34.0-181.0",
                b"+34,5-118.2",
                b"+nan-118.0",
            )
        ],
        "bad location not answered '? <line>'",
    )


@check("invalid-time", "LEX-6", "MUST", "times that are not POSIX decimal seconds get '?'")
def invalid_time(context: CheckContext) -> None:
    client, loc = context.client_id(), context.location()
    _invalid_lines(
        context,
        [b"IAMAT %s %s %s" % (client, loc, when) for when in (b"abc", b"1e9", b"-5", b"1.2.3", b"inf")],
        "bad client time not answered '? <line>'",
    )


@check("invalid-radius", "WHATSAT-2", "MUST", "radius outside (0, 50] km or not a number gets '?'")
def invalid_radius(context: CheckContext) -> None:
    radii = (b"0", b"0.0", b"51", b"50.5", b"50.01", b"-1", b"+5", b"abc", b"1e1")
    _invalid_whatsat_fields(context, [(radius, b"5") for radius in radii], "bad radius")


@check("invalid-bound", "WHATSAT-3", "MUST", "bound outside 0..20 or not an integer gets '?'")
def invalid_bound(context: CheckContext) -> None:
    bounds = (b"21", b"-1", b"-0", b"+1", b"1.5", b"2.0", b"x", b"100")
    _invalid_whatsat_fields(context, [(b"10", bound) for bound in bounds], "bad bound")


def _invalid_whatsat_fields(
    context: CheckContext, radius_and_bound: list[tuple[bytes, bytes]], what: str
) -> None:
    """WHATSAT lines for a client the server knows, so only the bad field can earn the '?'."""
    name = context.target.names[0]
    client = context.client_id()
    _at_reply(context, name, client, context.location(), context.now_time())
    lines = [b"WHATSAT %s %s %s" % (client, radius, bound) for radius, bound in radius_and_bound]
    _invalid_lines(context, lines, f"{what} not answered '? <line>'")


@check(
    "error-echo-raw", "ERR-2", "MUST", "'? ' is followed by the line exactly as received (odd spacing kept)"
)
def error_echo_raw(context: CheckContext) -> None:
    client = context.client_id()
    _invalid_lines(
        context,
        [
            b"IAMAT  %s\t+12-118  never" % client,
            b"  WHATSAT %s\t10 x\t" % client,
            b"HELLO\x00 \xff\xfe world",
        ],
        "the invalid line was not echoed as received",
    )


@check("limits-accepted", "WHATSAT-2", "MUST", "radius 1, radius 50 and bound 20 are accepted")
def limits_accepted(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    _at_reply(context, name, client, context.location(), context.now_time())
    for radius, bound, clause in ((b"1", 1, "WHATSAT-2"), (b"50", 1, "WHATSAT-2"), (b"1", 20, "WHATSAT-3")):
        reply = _places_reply(context, name, client, radius, bound)
        if not reply.data.startswith(b"AT "):
            raise CheckFailed(
                f"WHATSAT with radius {radius.decode()} and bound {bound} was refused",
                expected="the stored AT line and places",
                seen=_show(reply.data),
                clause=clause,
            )


# WHATSAT-2/3: "Strict: every value in it MUST be accepted"; lenient MAY refuse these.
@check(
    "limits-edges",
    "WHATSAT-2",
    "MUST",
    "a decimal radius (0.5 km) and bound 0 are accepted",
    strict_part=True,
)
def limits_edges(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    _at_reply(context, name, client, context.location(), context.now_time())
    for radius, bound, clause in ((b"0.5", 1, "WHATSAT-2"), (b"10", 0, "WHATSAT-3")):
        reply = (
            _places_reply(context, name, client, radius, bound)
            if bound
            else context.whatsat(name, client, radius, 0)
        )
        if not reply.data.startswith(b"AT "):
            raise CheckFailed(
                f"WHATSAT with radius {radius.decode()} and bound {bound} was refused",
                expected="the stored AT line and places",
                seen=_show(reply.data),
                clause=clause,
                strict_part=True,
            )
        if bound == 0:
            body = _whatsat_json(reply.data)
            results = body.get("results", body.get("places", [])) if isinstance(body, dict) else None
            if results != []:
                raise CheckFailed(
                    "bound 0 gave places", expected="no results", seen=repr(results), clause="WHATSAT-7"
                )


@check(
    "error-keeps-connection", "ERR-1", "MUST", "after '? <line>' the connection stays open for more commands"
)
def error_keeps_connection(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    with context.session(name) as session:
        session.send(b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
        if session.read_reply() is None or session.closed:
            raise CheckUnsupported("the server answers one command per connection (FRAME-3, lenient)")
        bad = b"IAMAT %s +12-118 never\n" % client
        session.send(bad)
        reply = session.read_reply()
        if reply != _error_for(bad):
            raise CheckFailed(
                "an invalid line on a kept-open connection", expected=repr(_error_for(bad)), seen=_show(reply)
            )
        session.send(b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
        reply = session.read_reply()
        if reply is None or not reply.startswith(b"AT "):
            raise CheckFailed(
                "after a '?' reply the connection no longer answers",
                expected="an AT line for the next IAMAT on the same connection",
                seen=_show(reply) + (" (connection closed)" if session.closed else ""),
            )


@check("unknown-client", "WHATSAT-4", "MUST", "WHATSAT for a client no server knows gets '? <line>'")
def unknown_client(context: CheckContext) -> None:
    line = b"WHATSAT %s 10 5\n" % context.client_id("nobody")
    for name in context.target.names:
        _expect_exact(
            context, name, line, _error_for(line), f"{name} did not answer '? <line>' for an unknown client"
        )
        _alive_after(context, name)


@check(
    "lex-unicode-space", "LEX-1", "MUST", "only SP HT LF VT FF CR separate fields (not U+00A0, U+0085, 0x1C)"
)
def lex_unicode_space(context: CheckContext) -> None:
    name = context.target.names[0]
    for separator in (b"\xc2\xa0", b"\xc2\x85", b"\x1c", b"\xe2\x80\x83"):
        client = context.client_id() + separator + b"x"
        location, client_time = context.location(), context.now_time()
        reply = context.iamat(name, client, location, client_time)
        fields = reply.data.removesuffix(b"\n").split(b" ")
        if not reply.data.startswith(b"AT ") or len(fields) != _AT_FIELDS or fields[3] != client:
            raise CheckFailed(
                f"the octets {separator!r} inside a client ID were taken for white space",
                expected=f"AT {name} <diff> {client!r} ...",
                seen=_show(reply.data),
            )


@check("lex-octets", "LEX-2", "MUST", "client IDs are octets: invalid UTF-8 is echoed byte for byte")
def lex_octets(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id() + b"\xff\xfe\x80"
    line = _at_reply(context, name, client, context.location(), context.now_time())
    if _fields(line)[3:4] != [client]:
        raise CheckFailed(
            "the client ID was not echoed byte for byte", expected=repr(client), seen=repr(line)
        )
    held = context.stored_line(name, client)
    if held != line:
        raise CheckFailed(
            "WHATSAT for a client ID with non-UTF-8 octets did not return its record",
            expected=repr(line),
            seen=_show(held),
        )


@check("lex-extra-space", "LEX-3", "MUST", "leading, trailing and repeated white space is accepted")
def lex_extra_space(context: CheckContext) -> None:
    name = context.target.names[0]
    client, location, client_time = context.client_id(), context.location(), context.now_time()
    reply = context.send(name, b"  IAMAT \t%s   %s\x0b%s \t \n" % (client, location, client_time))
    fields = reply.data.removesuffix(b"\n").split(b" ")
    if (
        len(fields) != _AT_FIELDS
        or fields[3:5] != [client, location]
        or not _same_time(fields[5], client_time)
    ):
        raise CheckFailed(
            "an IAMAT with extra white space was not accepted as the same command",
            expected=f"AT {name} <diff> {client.decode()} {location.decode()} {client_time.decode()}",
            seen=_show(reply.data),
        )


# ---- WHATSAT -------------------------------------------------------------------------------


def _whatsat_json(reply: bytes) -> object:
    _, _, rest = reply.partition(b"\n")
    try:
        return json.loads(rest)
    except ValueError as exc:
        raise CheckFailed(
            "the WHATSAT reply's body is not JSON",
            expected="a JSON object after the AT line",
            seen=f"{rest[:300]!r} ({exc})",
            clause="WHATSAT-6",
        ) from None


def _places_reply(context: CheckContext, name: str, client: bytes, radius: bytes, bound: int) -> Exchange:
    """A WHATSAT that needs Places; UNSUPPORTED when this herd's Places requests fail."""
    if not context.target.places_work:
        raise CheckUnsupported(
            "WHATSAT with a bound above 0 gets '?' on this herd (its Places requests never reach the "
            "fixture): give it {places_url}/$PLACES_URL, or use --redirect-google or --isolate"
        )
    return context.whatsat(name, client, radius, bound)


@check("whatsat-reply", "WHATSAT-5", "MUST", "WHATSAT: stored AT line, LF, JSON without empty lines, LF LF")
def whatsat_reply(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    line = _at_reply(context, name, client, context.location(), context.now_time())
    reply = _places_reply(context, name, client, b"10", 5)
    data = reply.data
    if not data.startswith(line + b"\n"):
        raise CheckFailed(
            "the WHATSAT reply does not start with the stored AT line",
            expected=repr(line + b"\n"),
            seen=_show(data[:300]),
        )
    body = data[len(line) + 1 :]
    if not body.endswith(b"\n\n") or body.endswith(b"\n\n\n"):
        raise CheckFailed(
            "the WHATSAT reply does not end with exactly one empty line",
            expected="...}\\n\\n",
            seen=repr(body[-40:]),
        )
    json_text = body[:-2]
    if b"\n\n" in json_text:
        at = json_text.find(b"\n\n")
        raise CheckFailed(
            "the JSON holds an empty line (runs of newlines must be squeezed to one)",
            expected="no '\\n\\n' inside the JSON",
            clause="WHATSAT-6",
            seen=repr(json_text[max(at - 60, 0) : at + 20]),
        )
    parsed = _whatsat_json(line + b"\n" + json_text)
    if not isinstance(parsed, dict):
        raise CheckFailed(
            "the JSON is not an object", expected="{...}", seen=repr(json_text[:200]), clause="WHATSAT-6"
        )


@check("whatsat-bound", "WHATSAT-7", "MUST", "at most <bound> places in the reply")
def whatsat_bound(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    _at_reply(context, name, client, context.location(), context.now_time())
    for bound in (2, 1):
        reply = _places_reply(context, name, client, b"20", bound)
        parsed = _whatsat_json(reply.data.removesuffix(b"\n\n"))
        results = None
        if isinstance(parsed, dict):
            results = parsed.get("results", parsed.get("places"))
        if not isinstance(results, list) or len(results) > bound:
            shown = len(results) if isinstance(results, list) else results
            raise CheckFailed(
                f"bound {bound} but the reply holds more places",
                expected=f"at most {bound} results",
                seen=f"{shown} results",
            )


@check(
    "places-bound-zero", "PLACES-4", "MUST", "bound 0: no Places request, an empty result", needs_fixture=True
)
def places_bound_zero(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: the requests the target sends cannot be seen")
    name = context.target.names[0]
    client = context.client_id()
    _at_reply(context, name, client, context.location(), context.now_time())
    fixture.reset()
    reply = context.whatsat(name, client, b"10", 0)
    if reply.data.startswith(b"? "):
        raise CheckUnsupported("the target refuses bound 0 (WHATSAT-3 lenient)")
    requests = fixture.requests()
    if requests:
        raise CheckFailed(
            "a WHATSAT with bound 0 made a Places request",
            expected="no request (the answer is known: no places)",
            seen=f"{len(requests)} request(s): {requests[0].get('path')}?{requests[0].get('raw_query', '')}",
        )


@check(
    "places-errors",
    "PLACES-3",
    "MUST",
    "Google error statuses pass through; no JSON gives '?'",
    needs_fixture=True,
)
def places_errors(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: Google's errors cannot be staged")
    name = context.target.names[0]
    client = context.client_id()
    _at_reply(context, name, client, context.location(), context.now_time())
    try:
        fixture.set_fault("over_query_limit")
        reply = _places_reply(context, name, client, b"10", 3)
        parsed = _whatsat_json(reply.data.removesuffix(b"\n\n"))
        if not isinstance(parsed, dict) or parsed.get("status") != "OVER_QUERY_LIMIT":
            raise CheckFailed(
                "Google's OVER_QUERY_LIMIT answer was not passed through",
                expected='the AT line and a JSON object with "status": "OVER_QUERY_LIMIT"',
                seen=_show(reply.data[:300]),
            )
        for fault in ("http_500", "malformed_json"):
            fixture.set_fault(fault)
            line = b"WHATSAT %s 10 3\n" % client
            reply = context.send(name, line, whatsat=True)
            if reply.data != _error_for(line):
                raise CheckFailed(
                    f"Places gave no JSON object ({fault}) but the reply was not '? <line>'",
                    expected=repr(_error_for(line)),
                    seen=_show(reply.data[:300]),
                    clause="PLACES-5",
                )
    finally:
        fixture.reset()
    _alive_after(context, name)


@check(
    "places-radius-metres",
    "PLACES-2",
    "MUST",
    "the Places request carries the radius in metres and the stored location",
    needs_fixture=True,
)
def places_radius_metres(context: CheckContext) -> None:
    fixture = context.target.fixture
    if fixture is None:
        raise CheckUnsupported("no Places fixture: the request the target sends to Google cannot be seen")
    name = context.target.names[0]
    client = context.client_id()
    location = context.location()
    _at_reply(context, name, client, location, context.now_time())
    match = _LOCATION_RE.fullmatch(location)
    assert match is not None
    latitude, longitude = (Decimal(part.decode()) for part in match.groups())
    for radius_km, metres in ((b"10", Decimal(10_000)), (b"0.5", Decimal(500))):
        fixture.reset()
        reply = context.whatsat(name, client, radius_km, 3)
        requests = fixture.requests()
        context.transcript.note(f"fixture saw {len(requests)} request(s): {requests!r:.600}")
        if not requests:
            if reply.data.startswith(b"? ") and radius_km == b"0.5":
                return  # a decimal radius is refused here; limits-edges reports that
            raise CheckUnsupported("the target's Places request never reached the fixture")
        request = requests[-1]
        seen_radius, seen_location = _request_circle(request)
        if seen_radius is None or seen_radius != metres:
            raise CheckFailed(
                f"WHATSAT radius {radius_km.decode()} km was sent to Places as {seen_radius}",
                expected=f"radius {metres} (metres)",
                seen=f"radius {seen_radius}",
            )
        if seen_location is None or any(
            abs(seen - sent) > _LOCATION_TOLERANCE
            for seen, sent in zip(seen_location, (latitude, longitude), strict=True)
        ):
            raise CheckFailed(
                "the Places request is not centred on the client's stored location",
                expected=f"{latitude},{longitude}",
                seen=f"{seen_location}",
                clause="WHATSAT-8",
            )


def _request_circle(request: dict[str, object]) -> tuple[Decimal | None, tuple[Decimal, Decimal] | None]:
    """Radius and centre of a Places request, legacy (query string) or New (JSON body)."""
    query = request.get("query")
    if isinstance(query, dict) and "radius" in query:
        radius_value = query.get("radius")
        location_value = query.get("location")
        radius_text = radius_value[0] if isinstance(radius_value, list) else radius_value
        location_text = location_value[0] if isinstance(location_value, list) else location_value
        radius = _decimal(str(radius_text).encode())
        centre = None
        if isinstance(location_text, str) and "," in location_text:
            lat_text, lng_text = location_text.split(",", 1)
            lat, lng = _decimal(lat_text.strip().encode()), _decimal(lng_text.strip().encode())
            centre = (lat, lng) if lat is not None and lng is not None else None
        return radius, centre
    body = request.get("json") or request.get("body")
    try:
        parsed = json.loads(body) if isinstance(body, str | bytes) else body
        circle = parsed["locationRestriction"]["circle"]  # type: ignore[index]
        centre_json = circle["center"]
        return (
            Decimal(str(circle["radius"])),
            (Decimal(str(centre_json["latitude"])), Decimal(str(centre_json["longitude"]))),
        )
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return None, None


# ---- flooding ------------------------------------------------------------------------------


@check(
    "flood-no-loop",
    "FLOOD-2",
    "MUST",
    "a record crosses each link a bounded number of times",
    destructive=True,
)
def flood_no_loop(context: CheckContext) -> None:
    launcher = _need_launcher(context)
    target = context.target
    sink_name = max(target.names, key=lambda name: (len(_neighbours(target, name)), name))
    neighbours = _neighbours(target, sink_name)
    if not neighbours:
        raise CheckUnsupported("no server has a neighbour")
    launcher.kill(sink_name)
    host, port = context.address(sink_name)
    with _Sink(host, port) as sink:
        client = context.client_id()
        origin = neighbours[0]
        _at_reply(context, origin, client, context.location(), context.now_time())
        # Any record of this run may show a loop (a looping herd may be too busy to pass on
        # the newest one quickly).
        records = re.compile(rb"hv" + target.run_id.encode() + rb"\.[^ \t\n\r\f\v]+")
        arrived = wait_until(lambda: sink.most_copies(records)[1] >= 1, deadline_s=target.propagation_s)
        if not arrived:
            raise CheckUnsupported(
                f"no neighbour sent a record to {sink_name}'s port (cannot watch the links)"
            )
        limit = 4 * len(neighbours) + 4
        looping = wait_until(
            lambda: sink.most_copies(records)[1] > limit, deadline_s=min(2.0, target.propagation_s)
        )
        record, copies = sink.most_copies(records)
        context.transcript.note(
            f"most copies of one record received on {sink_name}'s port: {copies} ({record!r})"
        )
        if looping:
            raise CheckFailed(
                f"a record kept arriving at {sink_name}: servers relay records they already hold",
                expected=f"at most {limit} copies of a record (one per link, plus catch-up)",
                seen=f"{copies} copies of {record!r} and counting",
            )


class _Sink:
    """A listener that accepts connections on a dead server's port and counts what arrives."""

    def __init__(self, host: str, port: int) -> None:
        self.listener = socket.create_server((host, port), reuse_port=False)
        self.listener.settimeout(0.1)
        self.data = bytearray()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads: list[threading.Thread] = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(2)
        self.listener.close()

    def most_copies(self, pattern: re.Pattern[bytes]) -> tuple[bytes, int]:
        """The record (matched by ``pattern``) received most often, and how often."""
        with self.lock:
            counts = Counter(pattern.findall(bytes(self.data)))
        return counts.most_common(1)[0] if counts else (b"", 0)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._read, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _read(self, connection: socket.socket) -> None:
        connection.settimeout(0.1)
        with connection:
            while not self.stopped.is_set():
                try:
                    chunk = connection.recv(65_536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                with self.lock:
                    self.data += chunk


@check("flood-all", "FLOOD-1", "MUST", "an IAMAT at any server reaches every server, as the same AT line")
def flood_all(context: CheckContext) -> None:
    for origin in context.target.names:
        client = context.client_id(origin)
        line = _at_reply(context, origin, client, context.location(), context.now_time())
        _require_flood(context, origin, _reachable_without(context.target, origin, set()), client, line)


@check("flood-at-from-client", "FLOOD-6", "MUST", "an AT line from a client connection is a flood: no reply")
def flood_at_from_client(context: CheckContext) -> None:
    names = context.target.names
    origin = names[-1]
    client = context.client_id()
    # A server ID outside the herd: some herds skip the server an AT line names when relaying.
    at_line = b"AT Elsewhere +0.250000000 %s %s %s" % (client, context.location(), context.now_time())
    reply = context.send(origin, b"AT  %s\t%s" % tuple(at_line[3:].split(b" ", 1)) + b"\n")
    if reply.data:
        raise CheckFailed(
            "a valid AT line from a client got a reply", expected="no reply", seen=_show(reply.data)
        )
    # Every server, the one that was sent the line included, must end up holding it.
    _require_flood(context, f"{origin} (from a client)", names, client, at_line)


@check("flood-newest-wins", "FLOOD-2", "MUST", "a stale or duplicate IAMAT neither replaces nor floods")
def flood_newest_wins(context: CheckContext) -> None:
    names = context.target.names
    origin, other = names[0], names[-1]
    client = context.client_id()
    newest_time = context.now_time()
    newest = _at_reply(context, origin, client, context.location(), newest_time)
    _require_flood(context, origin, names, client, newest)
    older = context.now_time(-100)
    stale_reply = _at_reply(context, other, client, context.location(), older)
    if len(_fields(stale_reply)) != _AT_FIELDS or not _same_time(_fields(stale_reply)[5], older):
        raise CheckFailed(
            "a stale IAMAT was not answered with an AT line for that IAMAT",
            expected=f"an AT line ending {older!r}",
            seen=repr(stale_reply),
            clause="IAMAT-4",
        )
    _at_reply(context, other, client, context.location(), newest_time)  # duplicate time: also ignored
    # Quiescence: a later record from the same server, once everywhere, has overtaken
    # anything the stale one could have caused.
    sentinel = context.client_id("sentinel")
    sentinel_line = _at_reply(context, other, sentinel, context.location(), context.now_time())
    _require_flood(context, other, names, sentinel, sentinel_line)
    for name in names:
        held = context.stored_line(name, client)
        if held != newest:
            raise CheckFailed(
                f"{name} replaced the newest record with an older or equal-time one",
                expected=repr(newest),
                seen=_show(held),
            )


def _pairs_to_check(context: CheckContext, *, quick: bool) -> list[tuple[str, str]]:
    names = context.target.names
    pairs = list(itertools.combinations(names, 2))
    if not quick:
        return pairs
    # Quick: one pair that leaves the survivors connected and one that cuts them apart.
    connected = [
        pair for pair in pairs if len(components(set(names) - set(pair), context.target.config.links)) == 1
    ]
    cut = [pair for pair in pairs if len(components(set(names) - set(pair), context.target.config.links)) > 1]
    return connected[:1] + cut[:1]


def _flood_with_pairs_down(context: CheckContext, pairs: list[tuple[str, str]]) -> None:
    launcher = _need_launcher(context)
    target = context.target
    for pair in pairs:
        down = set(pair)
        context.transcript.note(f"killing {pair[0]} and {pair[1]}")
        for name in pair:
            launcher.kill(name)
        survivors = set(target.names) - down
        for component in components(survivors, target.config.links):
            origin = min(component)
            client = context.client_id(f"{origin}-without-{pair[0]}-{pair[1]}")
            line = _at_reply(context, origin, client, context.location(), context.now_time())
            _require_flood(context, origin, component, client, line)
            outsiders = sorted(survivors - component)
            for name in outsiders:
                held = context.stored_line(name, client)
                if held is not None:
                    raise CheckFailed(
                        f"{name} holds a record it cannot have got over the herd's links "
                        f"({pair[0]} and {pair[1]} are down)",
                        expected="no record: servers talk only with their configured neighbours",
                        seen=repr(held),
                        clause="FLOOD-4",
                    )
        for name in pair:
            launcher.start(name)
        for name in pair:
            launcher.wait_listening(name, deadline_s=target.startup_s)
        _require_whole_again(context, pair)


def _require_whole_again(context: CheckContext, restarted: Iterable[str]) -> None:
    """LINK-2: once restarted, each server's records reach the whole herd again (so the next
    case starts from a working herd, and a missing reconnection is named as such)."""
    for name in restarted:
        client = context.client_id(f"{name}-back")
        line = _at_reply(context, name, client, context.location(), context.now_time())
        with _failure_as(
            f"after {name} restarted, its records did not reach the whole herd", clause="LINK-2"
        ):
            _require_flood(context, name, context.target.names, client, line)


@check(
    "flood-pairs-quick",
    "FLOOD-1",
    "MUST",
    "flooding with two servers down (one connected, one cut case)",
    destructive=True,
    quick_only=True,
)
def flood_pairs_quick(context: CheckContext) -> None:
    _flood_with_pairs_down(context, _pairs_to_check(context, quick=True))


@check(
    "flood-pairs",
    "FLOOD-1",
    "MUST",
    "flooding with each of the ten pairs of servers down (survivors cut apart included)",
    destructive=True,
    quick=False,
)
def flood_pairs(context: CheckContext) -> None:
    _flood_with_pairs_down(context, _pairs_to_check(context, quick=False))


# ---- links ---------------------------------------------------------------------------------


def _restart_case(context: CheckContext, sig: int) -> None:
    launcher = _need_launcher(context)
    target = context.target
    victim = max(target.names, key=lambda name: (len(_neighbours(target, name)), name))
    neighbour = _neighbours(target, victim)[0]
    launcher.kill(victim, sig)
    while_down = context.client_id("while-down")
    line = _at_reply(context, neighbour, while_down, context.location(), context.now_time())
    _require_flood(context, neighbour, _reachable_without(target, neighbour, {victim}), while_down, line)
    launcher.start(victim)
    launcher.wait_listening(victim, deadline_s=target.startup_s)
    after = context.client_id("after-restart")
    line = _at_reply(context, neighbour, after, context.location(), context.now_time())
    with _failure_as(f"{neighbour} did not get a new record to {victim} after {victim} restarted"):
        _require_flood(context, neighbour, [victim], after, line)
    outgoing = context.client_id("from-restarted")
    line = _at_reply(context, victim, outgoing, context.location(), context.now_time())
    with _failure_as(f"{victim}, restarted, did not flood a new record to {neighbour}"):
        _require_flood(context, victim, [neighbour], outgoing, line)


@check(
    "restart-reconnect",
    "LINK-2",
    "MUST",
    "after SIGKILL and restart, records flow both ways again",
    destructive=True,
)
def restart_reconnect(context: CheckContext) -> None:
    _restart_case(context, signal.SIGKILL)


@check(
    "restart-after-sigterm",
    "LINK-2",
    "MUST",
    "after SIGTERM and restart, records flow both ways again",
    destructive=True,
)
def restart_after_sigterm(context: CheckContext) -> None:
    _restart_case(context, signal.SIGTERM)


@check(
    "paused-neighbour",
    "LINK-4",
    "MUST",
    "a SIGSTOPped neighbour blocks neither replies nor flooding",
    destructive=True,
)
def paused_neighbour(context: CheckContext) -> None:
    launcher = _need_launcher(context)
    target = context.target
    victim = max(target.names, key=lambda name: (len(_neighbours(target, name)), name))
    launcher.pause(victim)
    try:
        for neighbour in _neighbours(target, victim):
            client = context.client_id(f"via-{neighbour}")
            reply = context.iamat(neighbour, client, context.location(), context.now_time())
            if not reply.data.startswith(b"AT "):
                raise CheckFailed(
                    f"{neighbour} did not answer an IAMAT while its neighbour {victim} was stopped",
                    expected="an AT line within the timeout",
                    seen=_show(reply.data) + f" after {target.timeout_s:g} s",
                )
            line = reply.data.split(b"\n", 1)[0]
            _require_flood(context, neighbour, _reachable_without(target, neighbour, {victim}), client, line)
    finally:
        launcher.resume(victim)


@check(
    "catch-up-after-restart",
    "CATCHUP-1",
    "MUST",
    "a restarted server gets back, without new IAMATs, what it held and what it missed",
    destructive=True,
    catch_up=True,
)
def catch_up_after_restart(context: CheckContext) -> None:
    launcher = _need_launcher(context)
    target = context.target
    victim = max(target.names, key=lambda name: (len(_neighbours(target, name)), name))
    neighbour = _neighbours(target, victim)[0]
    # A record the victim itself received: once it has spread, no neighbour owes it to the
    # victim any more (FLOOD-3), so only a catch-up (CATCHUP-1) can bring it back.
    known = context.client_id("known")
    known_line = _at_reply(context, victim, known, context.location(), context.now_time())
    _require_flood(context, victim, target.names, known, known_line)
    launcher.kill(victim)  # it forgets everything (STATE-2)
    missed = context.client_id("missed")
    line = _at_reply(context, neighbour, missed, context.location(), context.now_time())
    _require_flood(context, neighbour, _reachable_without(target, neighbour, {victim}), missed, line)
    launcher.start(victim)
    launcher.wait_listening(victim, deadline_s=target.startup_s)
    for client, record, when in ((known, known_line, "before it died"), (missed, line, "while it was down")):
        with _failure_as(f"{victim} restarted but never got back the record created {when}"):
            _require_flood(context, neighbour, [victim], client, record)
