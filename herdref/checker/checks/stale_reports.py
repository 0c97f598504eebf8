"""How iamat-stale tells what a server did with a client's older report (IAMAT-4, IAMAT-7): the
fresh reply it owes, and which report it keeps, read from its WHATSAT line."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Final

from herdref.checker.checks.at_lines import held_record, held_report
from herdref.checker.checks.registry import CheckBlocked, CheckFailed
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    carried_fields,
    location_close,
    looks_like_at,
    split_at_fields,
    time_close,
    time_diff_value,
)
from herdref.model.replies import time_diff_window

#: How much older than the newest report iamat-stale's stale report is, in seconds.
STALE_AGE_S: Final = 100


#: An AT reply, the client time of the IAMAT it answers, and the clock (ns) when that IAMAT
#: was sent and when its reply was read: the server's receive time lies between the two.
_TimedReply = tuple[bytes, bytes, tuple[int, int]]


def raise_if_stored_diff_reused(newest_reply: _TimedReply, stale_reply: _TimedReply) -> None:
    """IAMAT-4: the reply to a stale IAMAT is fresh, so its time difference is the server's
    receive time minus *this* client time (STALE_AGE_S more than the stored record's). A herd that
    echoes the IAMAT's fields next to the time difference it stored with the newer record
    (student herds did) FAILs here. Only that case: a difference that is wrong for the newest
    report as well, or wrong in another way, is skew's (AT-2), so one defect is named once."""
    newest, newest_time, newest_window = newest_reply
    line, client_time, window = stale_reply
    stored, fresh = split_at_fields(newest), split_at_fields(line)
    if stored is None or fresh is None:
        return  # a malformed AT line: at-reply-format's (AT-1)
    stored_diff, fresh_diff = time_diff_value(stored.time_diff), time_diff_value(fresh.time_diff)
    if stored_diff is None or fresh_diff is None:
        return  # not a signed decimal: skew's (AT-2)

    def right(diff: Fraction, client_time: bytes, window: tuple[int, int]) -> bool:
        low, high = time_diff_window(*window, client_time)  # skew's slack (lenient AT-2)
        return low <= diff <= high

    if (
        right(stored_diff, newest_time, newest_window)
        and not right(fresh_diff, client_time, window)
        and abs(fresh_diff - stored_diff) <= 1
    ):
        raise CheckFailed(
            "the AT reply to a stale IAMAT carries the time difference of the record held (the newer "
            "report's), not the server's receive time minus this IAMAT's client time",
            expected=f"about +{STALE_AGE_S} s more than the stored record's {stored.time_diff.decode()}",
            seen=repr(line),
            clause="IAMAT-4",
        )


def kept_report(
    context: CheckContext, name: str, client: bytes, reports: dict[str, tuple[bytes, bytes]]
) -> tuple[bytes | None, str | None, str]:
    """What ``name`` answers a WHATSAT for ``client`` with, which of ``reports`` it is (None: no
    record at all), and how that was told where the line does not show it plainly.
    UNSUPPORTED when that cannot be told."""
    asked_at = Fraction(time.time_ns(), 1_000_000_000)
    bound = context.target.lookup_bound
    if context.target.knowledge.records_unreadable is not None and bound is not None:
        return _kept_by_location(context, name, client, reports, bound)
    held = context.stored_line(name, client)
    if held is None:
        return None, None, ""
    if context.malformed_at is not None:
        # The AT replies are malformed (AT-1, at-reply-format's): the line WHATSAT answers, of
        # whatever shape, is read for the report it carries.
        return held, held_report(name, held, reports), ""
    record = held_record(name, held)
    assert record is not None  # held is an AT line
    for kind, (location, client_time) in reports.items():
        if time_close(client_time, record.client_time) and location_close(location, record.location):
            return held, kind, ""
    newest_time = reports["newest"][1]
    if not any(time_close(sent, record.client_time) for _, sent in reports.values()):
        # An AT line of the client with none of the reports' client times: WHATSAT does not
        # return a stored record as sent (whatsat-reply names that, WHATSAT-5). A line rebuilt
        # at query time still tells, by its time difference, which client time is held (the
        # duplicate's is the newest's: told apart from it by the stale report alone).
        diff = time_diff_value(record.time_diff)
        held_time = asked_at - diff if diff is not None else None
        if "stale" not in reports:
            return held, "unread", ""
        if held_time is not None and _nearer_stale(held_time, newest_time, reports["stale"][1]):
            return (
                held,
                "stale",
                f"the line its WHATSAT rebuilds has a time difference of {record.time_diff.decode()} s, "
                "which puts the client time it holds at the stale report's, 100 s before the newest",
            )
        raise CheckUnsupported(
            f"{name} answers WHATSAT with {held!r}, whose client time {record.client_time!r} is none of "
            "the reports': not the stored AT line (whatsat-reply judges that, WHATSAT-5), so which "
            "report it keeps cannot be seen"
        )
    # A record mixed from two reports: the one whose location it took changed it.
    for kind, (location, _) in reports.items():
        if kind != "newest" and location_close(location, record.location):
            return held, kind, f"it holds that report's location, {location.decode()}"
    raise CheckUnsupported(
        f"{name} answers WHATSAT with {held!r}, whose location is no report's: which report it keeps "
        "cannot be seen"
    )


def _kept_by_location(
    context: CheckContext, name: str, client: bytes, reports: dict[str, tuple[bytes, bytes]], bound: int
) -> tuple[bytes | None, str | None, str]:
    """kept_report where whatsat-reply saw WHATSAT answer an AT line that does not carry the
    stored client time (``records_unreadable``: WHATSAT-5, named there). Each report has a
    location of its own, so the one a rebuilt line carries still tells which report changed
    the record last. BLOCKED by whatsat-reply, as any record read then is, when it carries none
    (or more than one) of them."""
    unreadable = context.target.knowledge.records_unreadable or ""
    answer = context.whatsat(name, client, bound=bound, linger=False)
    if answer.data.startswith(b"?"):
        return None, None, ""  # '? <line>': no record of the client (WHATSAT-4)
    first = answer.data.partition(b"\n")[0]
    kinds = [
        kind
        for kind, (location, client_time) in reports.items()
        if looks_like_at(first) and carried_fields(first, location, client_time)[0] is not None
    ]
    if len(kinds) != 1:
        raise CheckBlocked("whatsat-reply", f"which record a server holds cannot be read: {unreadable}")
    location = reports[kinds[0]][0].decode()
    return (
        first,
        kinds[0],
        f"its WHATSAT line carries that report's location, {location} (the line is rebuilt at each "
        "WHATSAT, whatsat-reply's to name, WHATSAT-5; the location tells the report)",
    )


def _nearer_stale(held_time: Fraction, newest_time: bytes, stale_time: bytes) -> bool:
    """Whether ``held_time`` (read back from a rebuilt line's time difference, so within a few
    seconds of the truth) is the stale report's rather than the newest one's."""
    newest, stale = Fraction(newest_time.decode()), Fraction(stale_time.decode())
    return abs(held_time - stale) < abs(held_time - newest) / 4
