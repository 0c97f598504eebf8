"""flood-older-ignored (SPEC section 8, FLOOD-2): a record that comes from a neighbour replaces
the stored one only when its client time is newer.

The other flooding checks make their records with IAMATs, so an older record reaches a server
only through a stale IAMAT at its origin, which iamat-stale and flood-stale-not-sent judge (and a
herd that fails there hides this defect behind theirs). Floods cross, though: a client that
reports to two servers in turn sends its neighbours two records in either order. So the older
record is sent here as a neighbour sends it, an AT line on a connection of its own; a herd whose
neighbours speak a format of their own (protocol notes A13) never takes such a line, and then
nothing can be judged.
"""

from __future__ import annotations

import contextlib
from typing import Final

from herdref.checker.checks.helpers import neighbours_of
from herdref.checker.checks.records import carries_fields
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.checks.storm_watch import storm_left_by
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import carried_report

#: How long an AT line sent as a flood may take to be handled: a herd that answers it closes or
#: replies at once; one that reads it silently on a kept-open connection costs this much.
_AT_HANDLED_S: Final = 1.0
#: How long a server may take to show a neighbour's AT line as its record (a round trip takes
#: milliseconds; a herd whose neighbours speak a format of its own costs the run this much),
#: and how often WHATSAT asks meanwhile.
_RECORD_LATE_S: Final = 0.5
_ASK_EVERY_S: Final = 0.05
#: How much older the older record is: far beyond any tolerance, and the same number of
#: integer digits, so that a herd comparing client times as strings still orders them right
#: (that defect is newer-by-value's).
_OLDER_BY_S: Final = 100.0


@check(
    "flood-older-ignored",
    "FLOOD-2",
    "MUST",
    "an older record from a neighbour replaces no newer one",
    # It sends AT lines of its own and reads what WHATSAT shows by their fields: the herd's AT
    # reply is never read (a malformed one, AT-1, is at-reply-format's).
    reads_malformed_at=True,
)
def flood_older_ignored(context: CheckContext) -> None:
    """FLOOD-2 twice over: the older record is not taken, and the AT lines sent do not go
    round the herd for ever (herdref.checker.checks.storm_watch), whatever the herd keeps."""
    client = context.client_id()
    try:
        _older_not_taken(context, client)
    except CheckUnsupported:
        storm_left_by(context, client, "AT lines sent to a server as a neighbour sends a flood")
        raise
    storm_left_by(context, client, "AT lines sent to a server as a neighbour sends a flood")


def _older_not_taken(context: CheckContext, client: bytes) -> None:
    target = context.target
    name = target.names[0]
    # The record's origin is a server of the herd, a neighbour where there is one: a herd may
    # drop an AT line from a server it does not know.
    adjacent = neighbours_of(target, name)
    origin = (adjacent or [other for other in target.names if other != name] or [name])[0]
    newer = (context.location(), context.now_time())
    older = (context.location(), context.now_time(-_OLDER_BY_S))

    def as_a_neighbour_sends(location: bytes, client_time: bytes) -> bytes:
        line = b"AT %s +0.250000000 %s %s %s" % (origin.encode(), client, location, client_time)
        context.send(name, line + b"\n", timeout_s=_AT_HANDLED_S)
        return line

    def held_now() -> bytes | None:
        # A server that holds the record answers at once; one that leaves a WHATSAT for a client
        # it does not hold unanswered (a student herd) holds none, and would cost the whole
        # reply timeout at each ask (10 s of its run's budget here).
        return context.stored_line(name, client, silence_is_none=True, timeout_s=_AT_HANDLED_S)

    def newer_held() -> bool:
        # The record as sent, location and client time both: a herd that reads a neighbour's
        # line in a format of its own (a student herd took the client time for a sender field
        # and kept the rest) shows a record from which the older one cannot be told.
        held = held_now()
        return held is not None and carried_report(held, [newer]) == 0

    def older_taken() -> bool:
        held = held_now()
        return held is not None and carries_fields(held, *older) and not carries_fields(held, *newer)

    sent_newer = as_a_neighbour_sends(*newer)
    # A herd may act on a neighbour's AT line a little after it read it (a task, a batch):
    # the time it took to show the newer record is how long the older one is given too.
    try:
        took_s = wait_until(newer_held, deadline_s=context.remaining(_RECORD_LATE_S), poll_s=_ASK_EVERY_S)
    except DeadlinePassed:
        held = held_now()
        raise CheckUnsupported(
            f"{name} keeps no record of an AT line sent to it as a neighbour sends a flood "
            f"({sent_newer!r}; WHATSAT for {_RECORD_LATE_S:g} s then "
            + ("showed no record of the client" if held is None else f"answered {held!r}")
            + "): its neighbours speak a format of "
            "its own (protocol notes A13), so what it does with an older record cannot be seen"
        ) from None
    sent_older = as_a_neighbour_sends(*older)
    with contextlib.suppress(DeadlinePassed):
        wait_until(older_taken, deadline_s=context.remaining(2 * took_s), poll_s=_ASK_EVERY_S)
    held = held_now()
    if held is not None and carries_fields(held, *older) and not carries_fields(held, *newer):
        context.learned["relay_takes_older"] = f"{name} took an AT line {_OLDER_BY_S:g} s older"
        raise CheckFailed(
            f"{name} replaced a client's record with an older one that came from a neighbour "
            f"(client time {_OLDER_BY_S:g} s older)",
            expected=f"the newer record kept: {sent_newer!r}",
            seen=f"sent {sent_older!r} after it; WHATSAT answered {held!r}",
        )
