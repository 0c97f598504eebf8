"""flood-healed-split (SPEC section 8, FLOOD-2): once a split herd is whole again, a record made
on the side that was cut off replaces no newer record the other side holds.

The other FLOOD-2 checks send the older record while every server is connected, so the server a
client reports to already holds the newer one and refuses the older (iamat-stale), or the
checker sends it as a neighbour would (flood-older-ignored), which a herd whose servers speak a
format of their own never takes. Here the herd makes the older record itself: a server cut off
from the rest (its neighbours down) takes a client's reports, which are newer than anything it
holds, while the rest of the herd takes a newer one; after the neighbours come back, the cut-off
server floods what it gets next across the healed links. A herd that orders records by anything
but the client time (a sequence number per server, the time of arrival) lets that older record
replace the newer one on the other side. Such a herd passes every check made with one
connected herd, and a grader's partition test too, unless reports cross the split out of order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from herdref.checker.checks.at_lines import at_reply
from herdref.checker.checks.helpers import (
    need_launcher,
    neighbours_of,
    reachable_without,
    show,
)
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.checks.spreading import require_spread
from herdref.checker.target import CheckContext, CheckUnsupported, Target
from herdref.model.judge import carried_report

#: The reports the cut-off server takes while it is cut off: more than one, so that a herd that
#: counts the reports each server takes (a sequence number per client, bumped by each newer
#: report) counts more of them there than on the other side, as a real split with a busy client
#: on the small side does.
_REPORTS_WHILE_CUT_OFF: Final = 3
#: How much older than the other side's newest record the cut-off side's reports are: far
#: beyond any tolerance, in seconds, each later one newer than the one before.
_CUT_OFF_SIDE_BEHIND_S: Final = 100.0


def split_of(target: Target) -> tuple[str, list[str], str] | None:
    """Where to split the herd: a server to cut off (the one with the fewest neighbours, the
    first in the herd file among equals: the fewest servers to kill), its neighbours (to kill),
    and a server on the other side to watch (one next to those neighbours, so that what the
    cut-off server floods once they are back reaches it first hand). None when no server can be
    cut off with another left running (each server neighbours every other, or one server)."""
    candidates = [
        name
        for name in target.names
        if neighbours_of(target, name) and set(target.names) - {name, *neighbours_of(target, name)}
    ]
    if not candidates:
        return None
    cut_off = min(candidates, key=lambda name: (len(neighbours_of(target, name)), target.names.index(name)))
    killed = neighbours_of(target, cut_off)
    others = [name for name in target.names if name != cut_off and name not in killed]
    watched = next(
        (name for name in others if set(neighbours_of(target, name)) & set(killed)),
        others[0],
    )
    return cut_off, killed, watched


@check(
    "flood-healed-split",
    "FLOOD-2",
    "MUST",
    "after a split heals, a record made on the cut-off side replaces no newer record on the other",
    destructive=True,
    # Records must flood (flood-all) and links must come back after a restart
    # (restart-reconnect: the same kill and start). A herd whose servers take any older AT line
    # a neighbour sends is flood-older-ignored's, named there once (this check would see the same
    # defect at work); a herd that never takes the checker's AT lines (a format of its own) is
    # UNSUPPORTED there, and judged here.
    # newer-by-value's core FAIL (a server that takes an older record, or puts one back) is a
    # FLOOD-2 defect this check would see at work too: named there once. So is iamat-stale's
    # (a server that keeps a client's older report: a student herd ordered records by when they
    # arrived, which this check then saw again across the healed split).
    requires=(
        "dialect",
        "at-reply-format",
        "flood-all",
        "restart-reconnect",
        "flood-older-ignored",
        "newer-by-value",
        "iamat-stale",
    ),
    # Which record a server holds is read by the location and client time its line carries.
    reads_malformed_at=True,
)
def flood_healed_split(context: CheckContext) -> None:
    launcher = need_launcher(context)
    target = context.target
    split = split_of(target)
    if split is None:
        raise CheckUnsupported(
            "no server can be cut off from the rest with another one left running (each server "
            "neighbours every other), so no split can be made"
        )
    cut_off, killed, watched = split
    client = context.client_id()
    reports: list[tuple[bytes, bytes]] = []

    def report(client_time: bytes) -> tuple[bytes, bytes]:
        sent = (context.location(), client_time)
        reports.append(sent)
        return sent

    # Every server knows the client first, so that the cut-off server's reports are updates.
    first = report(context.now_time(-2 * _CUT_OFF_SIDE_BEHIND_S))
    line = at_reply(context, watched, client, *first)
    require_spread(context, watched, target.names, client, line, report=first)

    context.transcript.note(
        f"{cut_off} is cut off from the rest: its neighbours {', '.join(killed)} are killed"
    )
    for name in killed:
        launcher.kill(name)
    newest = report(context.now_time())
    newest_line = at_reply(context, watched, client, *newest)
    other_side = sorted(reachable_without(target, watched, set(killed)))
    try:
        require_spread(context, watched, other_side, client, newest_line, report=newest)
    except CheckFailed as failure:
        raise CheckUnsupported(
            f"with {', '.join(killed)} down, the record {watched} took did not reach the servers "
            f"still connected to it ({failure.summary}; restart-reconnect judges floods with a "
            "neighbour down), so the split cannot be judged"
        ) from None
    # The servers judged are those seen holding the newest record before the herd is whole again.
    held_newest = {
        name: carried_report(held_line, reports) == reports.index(newest)
        for name in other_side
        if (held_line := context.stored_line(name, client, silence_is_none=True)) is not None
    }
    cut_off_side: list[tuple[bytes, bytes]] = []
    for step in range(_REPORTS_WHILE_CUT_OFF + 1):
        if step == _REPORTS_WHILE_CUT_OFF:
            # The links are back: the next report crosses them.
            context.transcript.note(f"{', '.join(killed)} restarted: the herd is whole again")
            for name in killed:
                launcher.start(name)
            for name in killed:
                launcher.wait_listening(name, deadline_s=target.startup_s)
        older = report(context.now_time(-_CUT_OFF_SIDE_BEHIND_S + step))
        cut_off_side.append(older)
        at_reply(context, cut_off, client, *older)

    # Quiescence: a new client's record made at the cut-off server after the last report, once
    # it has reached the other side, went the same way after it.
    sentinel = context.client_id("sentinel")
    sentinel_report = (context.location(), context.now_time())
    sentinel_line = at_reply(context, cut_off, sentinel, *sentinel_report)
    try:
        require_spread(context, cut_off, [watched], sentinel, sentinel_line, report=sentinel_report)
    except CheckFailed as failure:
        raise CheckUnsupported(
            f"after {', '.join(killed)} restarted, a new record made at {cut_off} never reached "
            f"{watched} ({failure.summary}): whether the older records it flooded would replace "
            "the newer one there cannot be seen (restart-reconnect judges links after a restart)"
        ) from None
    # Only an older record that crossed the healed links can replace the newest: where none of
    # the restarted servers holds a record of the client, nothing crossed, and nothing is shown.
    crossed = {name: context.stored_line(name, client, silence_is_none=True) for name in killed}
    if not any(crossed.values()):
        raise CheckUnsupported(
            f"after {', '.join(killed)} restarted, {cut_off} took a report of a client it knew and "
            f"none of them holds any record of the client ({crossed}): no record crossed the healed "
            "links (flood-newest-wins judges whether updates are flooded), so nothing can be seen"
        )
    for name in other_side:
        if not held_newest.get(name):
            continue  # it never held the newest (flood-all and newer-by-value judge that)
        held = context.stored_line(name, client)
        which = carried_report(held, reports) if held is not None else None
        if which is None or reports[which] not in cut_off_side:
            continue
        client_time = reports[which][1]
        behind = Decimal(newest[1].decode()) - Decimal(client_time.decode())
        raise CheckFailed(
            f"{name} held a client's newest record (client time {newest[1].decode()}), taken while "
            f"{cut_off} was cut off from it; once the herd was whole again, {cut_off} flooded a "
            f"report of the client it took later, {behind:.3f} s older ({client_time.decode()}), "
            f"and {name} took that in place of the newer one",
            expected=f"the newest record kept: {newest_line!r}",
            seen=f"WHATSAT answered {show(held)}",
        )
