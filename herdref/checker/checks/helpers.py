"""What the checks share: sending a command that must be answered, judging echoes, waiting for floods."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Final

from herdref.checker.checks.registry import CheckFailed
from herdref.checker.client import Exchange
from herdref.checker.launcher import Launcher
from herdref.checker.target import CheckContext, CheckUnsupported, Target, components

AT_FIELDS: Final = 6
# AT-2 in every profile: a sign, digits, and (lenient) any number of fractional digits or none.
TIME_DIFF_RE: Final = re.compile(rb"[+-][0-9]+(?:\.[0-9]+)?")
NINE_DIGIT_DIFF_RE: Final = re.compile(rb"[+-][0-9]+\.[0-9]{9}")
LOCATION_RE: Final = re.compile(rb"([+-][0-9]{1,3}(?:\.[0-9]+)?)([+-][0-9]{1,3}(?:\.[0-9]+)?)")
#: Graders compare coordinates within 1e-5 degrees; float round-trips stay far inside that.
LOCATION_TOLERANCE: Final = Decimal("0.00001")
#: A float holds a 2020s POSIX time to about 2.4e-7 s.
TIME_TOLERANCE: Final = Decimal("0.000001")
SKEW_OFFSET_S: Final = 3600


# ---- helpers -------------------------------------------------------------------------------


def show(data: bytes | None) -> str:
    return "nothing" if data is None else repr(data)


def expect_exact(context: CheckContext, name: str, payload: bytes, expected: bytes, summary: str) -> None:
    reply = context.send(name, payload)
    if reply.data != expected:
        seen = show(reply.data) + (f" ({reply.error})" if reply.error else "")
        raise CheckFailed(summary, expected=repr(expected), seen=seen)


def error_for(line: bytes) -> bytes:
    """ERR-1/ERR-2: ``? `` plus the line minus its LF and one CR before it."""
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    return b"? " + line + b"\n"


def at_reply(context: CheckContext, name: str, client: bytes, location: bytes, client_time: bytes) -> bytes:
    """Send an IAMAT that must be accepted; return the AT line (no LF) or fail IAMAT-4."""
    reply = context.iamat(name, client, location, client_time)
    if not reply.data.startswith(b"AT ") or not reply.data.endswith(b"\n"):
        raise CheckFailed(
            f"{name} did not answer a valid IAMAT with an AT line",
            expected=f"b'AT {name} <time-diff> {client.decode(errors='replace')} ...\\n'",
            seen=show(reply.data) + (f" ({reply.error})" if reply.error else ""),
            clause="IAMAT-4",
        )
    return reply.data.split(b"\n", 1)[0]


def same_time(seen: bytes, sent: bytes) -> bool:
    """Numerically the same client time (exact echo is echo-exact's business, IAMAT-5)."""
    seen_value, sent_value = decimal_or_none(seen), decimal_or_none(sent)
    return (
        seen_value is not None and sent_value is not None and abs(seen_value - sent_value) <= TIME_TOLERANCE
    )


def fields_of(at_line: bytes) -> list[bytes]:
    return at_line.split(b" ")


def echo_numerically_equal(sent: tuple[bytes, bytes], seen: tuple[bytes, bytes]) -> bool:
    """IAMAT-5's lenient alternative: the echoed location and client time are numerically
    equal (within the tolerances graders use) to ``sent``, both ``(location, client_time)``."""
    sent_match, seen_match = LOCATION_RE.fullmatch(sent[0]), LOCATION_RE.fullmatch(seen[0])
    sent_time, seen_time = decimal_or_none(sent[1]), decimal_or_none(seen[1])
    if sent_match is None or seen_match is None or sent_time is None or seen_time is None:
        return False
    return abs(sent_time - seen_time) <= TIME_TOLERANCE and all(
        abs(Decimal(a.decode()) - Decimal(b.decode())) <= LOCATION_TOLERANCE
        for a, b in zip(sent_match.groups(), seen_match.groups(), strict=True)
    )


def decimal_or_none(text: bytes) -> Decimal | None:
    try:
        return Decimal(text.decode("ascii"))
    except (InvalidOperation, UnicodeDecodeError):
        return None


def need_launcher(context: CheckContext) -> Launcher:
    if context.launcher is None:
        raise CheckUnsupported("needs to kill or pause servers: run with --launch or on the reference herd")
    return context.launcher


def neighbours_of(target: Target, name: str) -> list[str]:
    return list(target.config.neighbours(name))


def reachable_without(target: Target, origin: str, down: set[str]) -> set[str]:
    alive = set(target.names) - down
    for component in components(alive, target.config.links):
        if origin in component:
            return component
    return set()


@contextlib.contextmanager
def failure_as(summary: str, *, clause: str | None = None) -> Iterator[None]:
    """Restate a failure inside the block in this check's words (and ``clause``, or the check's
    own clause when None)."""
    try:
        yield
    except CheckFailed as failure:
        raise CheckFailed(summary, expected=failure.expected, seen=failure.seen, clause=clause) from None


def require_flood(
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


def invalid_lines(context: CheckContext, lines: list[bytes], summary: str) -> None:
    name = context.target.names[0]
    for line in lines:
        payload = line + b"\n"
        expect_exact(context, name, payload, error_for(payload), f"{summary}: {line!r}")
    alive_after(context, name)


def alive_after(context: CheckContext, name: str) -> None:
    """The server still answers after the bad input (ERR-4: the server never dies or hangs)."""
    with failure_as(f"{name} no longer answers after the bad input", clause="ERR-4"):
        at_reply(context, name, context.client_id("alive"), context.location(), context.now_time())


def whatsat_json(reply: bytes) -> object:
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


def places_reply(context: CheckContext, name: str, client: bytes, radius: bytes, bound: int) -> Exchange:
    """A WHATSAT that needs Places; UNSUPPORTED when this herd's Places requests fail."""
    if not context.target.places_work:
        raise CheckUnsupported(
            "WHATSAT with a bound above 0 gets '?' on this herd (its Places requests never reach the "
            "fixture): give it {places_url}/$PLACES_URL, or use --redirect-google or --isolate"
        )
    return context.whatsat(name, client, radius, bound)
