"""The AT reply's time difference (SPEC section 5, AT-2): its sign, its form and its value."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Final

from herdref.checker.checks.at_lines import at_fields, at_reply, is_malformed
from herdref.checker.checks.helpers import SKEW_OFFSET_S, named_together
from herdref.checker.checks.iamat import any_time_forms
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    carried_fields,
    is_strict_time_diff,
    looks_like_at,
    split_at_fields,
    split_line,
    time_diff_field,
    time_diff_value,
)
from herdref.model.replies import time_diff_window


@check(
    "skew",
    "AT-2",
    "MUST",
    "time difference: signed ('+' when >= 0), decimal, and right",
    # Not iamat-any-time: a herd that refuses far times (a year past 9999, an integer time)
    # still has its time differences judged on the times it takes (a student herd wrote '--3600').
    requires=("dialect", "at-reply-format"),
    reads_malformed_at=True,
)
def skew(context: CheckContext) -> None:
    """AT-2: R - T exactly, for client times an hour either side of the clock, for the varied
    forms of iamat-any-time (19 integer digits: a float is off by minutes there, and
    ``str(float)`` writes an exponent), and for times so close to the server's clock that the
    difference is under 0.1 ms, where ``str(float)`` writes an exponent too (``4.7e-05``): a
    course client sends its clock's time, so that is the difference most replies carry on a
    fast link. A time the herd refuses is iamat-any-time's business (IAMAT-6), so it is left
    out here."""
    now_ns = time.time_ns()
    shifted = [
        b"%d.%09d" % divmod(now_ns + offset * 1_000_000_000, 1_000_000_000)
        for offset in (-SKEW_OFFSET_S, SKEW_OFFSET_S)
    ]
    # Times a clock can show first (ten integer digits at most: until the year 2286); a float
    # is exact enough for those. Longer ones only the strict reading asks to be exact (AT-2).
    varied = sorted(any_time_forms(context), key=lambda client_time: not _clock_like(client_time))
    judged, unread = 0, 0
    # Every time is judged, and every kind of wrong difference named: a herd that doubles the
    # sign of a negative difference may also write a tiny one with an exponent (a student
    # herd: '--3599.99' and '-6.19e-06'), and the first must not hide the second.
    failures: list[CheckFailed] = []
    for client_time in shifted:
        value, read = _judge_time_diff(context, client_time, failures)
        judged += value is not None
        unread += not read
    # Near the clock: each time is the send time plus the delay the replies showed (R - T is
    # the server's own measure of it), so the differences shrink to the link's jitter. After
    # the first, half of each difference is added: where the delay jitters by milliseconds (a
    # connection per command), the whole of it overshoots and the signs alternate.
    lead_ns = 0
    # Tries stop at a count or a time, whichever comes first: on a herd that takes a tenth of
    # a second per command, 128 tries would spend the run's budget that other checks need.
    stop_at = time.monotonic() + _NEAR_CLOCK_SPEND_S
    for attempt in range(_NEAR_CLOCK_TRIES):
        if attempt and time.monotonic() > stop_at:
            context.transcript.note(f"no difference under 0.1 ms in {attempt} tries near the clock")
            break
        near = b"%d.%09d" % divmod(time.time_ns() + lead_ns, 1_000_000_000)
        value, read = _judge_time_diff(context, near, failures)
        judged += value is not None
        unread += not read
        if value is None or abs(value) < _EXPONENT_BELOW_S:
            break
        lead_ns += round(value * 1_000_000_000 / (1 if attempt == 0 else 2))
    # The varied forms last: past ten integer digits, a wrong difference is strict only, and the
    # core findings above come first.
    for client_time in varied:
        value, read = _judge_time_diff(context, client_time, failures)
        judged += value is not None
        unread += not read
    if failures:
        # Core findings first: the FAIL is core when any of them is.
        failures.sort(key=lambda failure: bool(failure.strict_part))
        raise named_together(failures, kind=lambda failure: failure.summary.partition(" for a client")[0])
    if not judged and unread:
        raise CheckUnsupported(
            "the AT replies are malformed (at-reply-format names that, AT-1), and the field in their "
            "time difference's place (after the server ID) is no number or is another field sent, so "
            "their time difference cannot be told"
        )
    if not judged:
        raise CheckUnsupported(
            "every client time sent was refused, which iamat-any-time judges (IAMAT-6, or LEX-6 "
            "for the form of the time)"
        )


#: Python's str() and repr() of a float write an exponent below this magnitude (0.0001).
_EXPONENT_BELOW_S: Final = Fraction(1, 10_000)
#: IAMATs sent near the clock: the first difference is the delay, the next ones its jitter.
#: A herd whose replies jitter by a few milliseconds meets a difference under 0.1 ms about
#: once in 20 tries (a fresh student herd: 32 tries met none in one run, one in another); 128
#: take a tenth of a second on such a herd, and the time limit below holds slow herds.
_NEAR_CLOCK_TRIES: Final = 128
#: The longest time spent on those tries.
_NEAR_CLOCK_SPEND_S: Final = 2.0


def _judge_time_diff(
    context: CheckContext, client_time: bytes, failures: list[CheckFailed]
) -> tuple[Fraction | None, bool]:
    """Send an IAMAT with ``client_time`` and judge its reply's time difference (AT-2), a wrong
    one added to ``failures``: its value (None when not judged: refused, or not an AT line; a
    difference written wrongly, with two signs or an exponent, is read as a number all the
    same) and whether it could be read at all (False only for a malformed AT line whose
    difference cannot be told)."""
    name = context.target.names[0]
    client, location = context.client_id(), context.location()
    sent_ns = time.time_ns()
    reply = context.iamat(name, client, location, client_time)
    received_ns = time.time_ns()
    split = split_line(reply.data, crlf=False)
    record = split_at_fields(split[0]) if split is not None else None
    diff = record.time_diff if record is not None else None
    if split is not None and record is None and context.malformed_at is not None and looks_like_at(split[0]):
        # A malformed AT line (AT-1, at-reply-format's): its time difference is the number in
        # AT-1's place for it, if it can be told from the fields carrying the report.
        carried = (client, *carried_fields(split[0], location, client_time))
        diff = time_diff_field(split[0], name.encode(), [field for field in carried if field])
        if diff is None:
            return None, False
        context.transcript.note(
            f"the time difference read in the malformed AT line (AT-1, at-reply-format's): "
            f"{diff!r}, the field after the server ID"
        )
    if diff is None:
        return None, True  # refused (iamat-any-time's) or not an AT line (at-reply-format's)
    value = time_diff_value(diff)
    if value is None:
        failures.append(
            CheckFailed(
                "the time difference is not a signed decimal ('+' or '-', digits, optional "
                f"fraction): {_form_defect(diff)}" + _past_any_clock(client_time),
                expected="+3600.000123456 or -3599.999876543",
                seen=f"{diff!r} for client time {client_time.decode()}",
                strict_part=not _clock_like(client_time),
            )
        )
        return _loose_value(diff), True
    # One second of slack either way: lenient AT-2 allows any number of digits, truncated.
    low, high = time_diff_window(sent_ns, received_ns, client_time)
    if not low <= value <= high:
        window = f"between {_decimal(low)} and {_decimal(high)}"
        failures.append(
            CheckFailed(
                "the time difference is not server time minus client time" + _past_any_clock(client_time),
                expected=f"{window} for client time {client_time.decode()}",
                seen=repr(diff),
                strict_part=not _clock_like(client_time),
            )
        )
    return value, True


def _form_defect(diff: bytes) -> str:
    """What is wrong with how ``diff``, no signed decimal, is written (one kind per defect:
    each is named once, whichever times showed it)."""
    if b"e" in diff.lower():
        return "written with an exponent"
    if diff[:1] in b"+-" and diff[1:2] in (b"+", b"-"):
        return "two signs"
    if diff[:1] not in (b"+", b"-"):
        return "no sign ('+' for a difference of zero or more)"
    return "not digits with an optional fraction"


def _loose_value(diff: bytes) -> Fraction | None:
    """``diff``'s number read as a float would read it, its signs squeezed into one (two
    signs, an exponent): what the herd meant, for the tries near the clock to steer by."""
    signs = len(diff) - len(diff.lstrip(b"+-"))
    negative = b"-" in diff[:signs]
    try:
        magnitude = Fraction(float(diff[signs:].decode("ascii")))
    except (UnicodeDecodeError, ValueError, OverflowError):
        return None
    return -magnitude if negative else magnitude


def _past_any_clock(client_time: bytes) -> str:
    """Why a wrong difference for ``client_time`` is a strict deviation, if it is: a time no
    clock shows before 2286, where a float loses digits and ``str(float)`` writes an exponent,
    whose difference only the strict profile asks exact and without one (AT-2 Strict)."""
    if _clock_like(client_time):
        return ""
    digits = len(client_time.partition(b".")[0].lstrip(b"0"))
    return (
        f" for a client time of {digits} integer digits, which no clock shows before the year 2286: "
        "only the strict profile asks that difference to be exact and written without an exponent (AT-2)"
    )


def _clock_like(client_time: bytes) -> bool:
    """A client time a clock can show: at most ten integer digits (leading zeros aside)."""
    whole = client_time.partition(b".")[0].lstrip(b"0")
    return len(whole) <= _CLOCK_DIGITS


#: Integer digits of POSIX times until the year 2286: every time a client's clock can send.
_CLOCK_DIGITS: Final = 10


def _decimal(value: Fraction) -> str:
    """An exact value with a sign and three decimals (a float would round 19-digit values)."""
    thousandths = (value * 1000).__round__()
    sign = "-" if thousandths < 0 else "+"
    whole, fraction = divmod(abs(thousandths), 1000)
    return f"{sign}{whole}.{fraction:03d}"


# AT-2: "Strict: ... exactly nine fractional digits"; lenient allows any number.
@check(
    "skew-nine-digits",
    "AT-2",
    "MUST",
    "the time difference has nine fractional digits",
    strict_part=True,
    # Not skew: a herd that writes '--' before a negative difference (skew's, AT-2) still has
    # the digits of its positive differences judged here.
    # The form of the time difference, read in a malformed AT line (AT-1, at-reply-format's) as
    # skew reads it: the number in its place after the server ID.
    reads_malformed_at=True,
)
def skew_nine_digits(context: CheckContext) -> None:
    name = context.target.names[0]
    client, location, client_time = context.client_id(), context.location(), context.now_time(-1)
    line = at_reply(context, name, client, location, client_time)
    if is_malformed(line):
        carried = (client, *carried_fields(line, location, client_time))
        found = time_diff_field(line, name.encode(), [field for field in carried if field])
        if found is None:
            raise CheckUnsupported(
                f"the AT reply {line!r} is malformed (at-reply-format names that, AT-1), and the field "
                "in its time difference's place (after the server ID) is no number or is another "
                "field sent, so how its time difference is written cannot be told"
            )
        diff = found
    else:
        diff = at_fields(line).time_diff
    if time_diff_value(diff) is None:
        raise CheckUnsupported(
            f"the time difference {diff!r} is no signed decimal at all (skew judges that, AT-2): how "
            "many digits it has says nothing more"
        )
    if not is_strict_time_diff(diff):
        raise CheckFailed(
            "the time difference is not written as the strict profile asks (no leading zeros, nine "
            "fractional digits, never -0)",
            expected="+S.NNNNNNNNN",
            seen=repr(diff),
        )
