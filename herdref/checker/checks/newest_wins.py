"""flood-newest-wins (SPEC section 8, FLOOD-1, FLOOD-2): an update reaches every server, and a
stale or duplicate IAMAT replaces no record anywhere but, perhaps, at its own server."""

from __future__ import annotations

from herdref.checker.checks.at_lines import at_reply, held_report
from herdref.checker.checks.helpers import failure_as, neighbours_of, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.checks.spreading import require_spread
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import carried_report, decimal_value, same_record, split_at_fields, time_close


@check(
    "flood-newest-wins",
    "FLOOD-2",
    "MUST",
    "an update reaches every server, and a stale or duplicate IAMAT replaces no record elsewhere",
    # It needs records to flood (flood-all), nothing else: an origin that keeps a client's first
    # report is newer-by-value's, and a stale IAMAT kept at the server it was sent to
    # iamat-stale's; both are seen and left to them here. Requiring those checks' PASS hid the
    # defects only this check looks for (a student herd's update that is not flooded, behind an
    # iamat-stale FAIL and a newer-by-value FAIL for its neighbours' string comparison).
    requires=("dialect", "at-reply-format", "flood-all"),
    # Which record each server holds does not depend on the AT line's shape: a malformed one
    # (AT-1, at-reply-format's) is read for the report it carries (_judge_by_report).
    reads_malformed_at=True,
)
def flood_newest_wins(context: CheckContext) -> None:
    names = context.target.names
    origin = names[0]
    # The other server a client reports to is a neighbour of the origin when it has one, so that
    # what it floods reaches the origin directly whatever order the herd file lists servers in.
    adjacent = neighbours_of(context.target, origin)
    other = names[-1] if names[-1] in adjacent or not adjacent else sorted(adjacent)[-1]
    client = context.client_id()
    # A first report, everywhere; then a newer one for the client every server now knows: an
    # update is flooded like a first report (a herd that floods only new clients fails here).
    first_report = (context.location(), context.now_time(-50))
    first = at_reply(context, origin, client, *first_report)
    require_spread(context, origin, names, client, first, report=first_report)
    newest_time = context.now_time()
    newest_report = (context.location(), newest_time)
    newest = at_reply(context, origin, client, *newest_report)
    held = context.stored_line(origin, client)
    if held is not None and (
        same_record(held, first, any_time_diff=True, any_server=True)
        if context.malformed_at is None
        else carried_report(held, [first_report, newest_report]) == 0
    ):
        raise CheckUnsupported(
            f"{origin} still holds the first report after answering a newer one ({held!r}): that is "
            "newer-by-value's (a greater client time replaces the stored record), so whether an "
            "update is flooded cannot be seen"
        )
    with failure_as(
        f"a newer report from a client every server already held, sent to {origin}, did not replace "
        "the older record everywhere",
        clause="FLOOD-1",
        only="FLOOD-1",
    ):
        require_spread(context, origin, names, client, newest, report=newest_report)
    # What the two servers that get the client's IAMATs hold now: the newest record, possibly
    # re-printed (a smaller time within the tolerance makes the duplicate below newer to them).
    before = {name: context.stored_line(name, client) for name in (origin, other)}
    older = context.now_time(-100)
    # At the server that received the newest record itself (IAMAT-7), and at another one: a
    # duplicate (same client time, another location) and a stale one. Each location is this
    # check's own, so what a server holds shows where it came from. How each is answered is
    # iamat-stale's (IAMAT-4).
    sent_to: dict[bytes, tuple[str, str]] = {}
    sent_times: dict[bytes, bytes] = {}
    kept: dict[str, bytes | None] = {}
    for name, kind, client_time in (
        (origin, "duplicate", newest_time),
        (origin, "stale", older),
        (other, "stale", older),
        (other, "duplicate", newest_time),
    ):
        location = context.location()
        sent_to[location] = (name, kind)
        sent_times[location] = client_time
        at_reply(context, name, client, location, client_time)
        if name == origin and kind == "stale":
            # What the origin holds after its own two: one of them, if it keeps what a client
            # sends it (IAMAT-7, iamat-stale's), and then a record newer than that may replace it.
            kept[origin] = context.stored_line(origin, client)
    # Quiescence: a later record from the same server, once everywhere, has overtaken
    # anything the stale one could have caused.
    sentinel = context.client_id("sentinel")
    sentinel_report = (context.location(), context.now_time())
    sentinel_line = at_reply(context, other, sentinel, *sentinel_report)
    require_spread(context, other, names, sentinel, sentinel_line, report=sentinel_report)
    for name in names:
        held = context.stored_line(name, client)
        if context.malformed_at is not None:
            reports = {"newest": newest_report} | {
                location.decode(): (location, sent_times[location]) for location in sent_to
            }
            _judge_by_report(
                context, name, held, newest, reports=reports, sent_to=sent_to, kept=kept.get(name)
            )
            continue
        # The newest record (its client time and location), possibly re-printed or relabelled on
        # the way, or rebuilt by WHATSAT: flood-all and whatsat-reply judge the line itself.
        if held is not None and same_record(held, newest, any_time_diff=True, any_server=True):
            continue
        record = split_at_fields(held) if held is not None else None
        receiver, kind = sent_to.get(record.location, ("", "")) if record is not None else ("", "")
        if receiver == name:
            _note_kept_at_receiver(context, name, kind, before.get(name), newest_time)
            continue
        own = split_at_fields(kept.get(name) or b"")
        if record is not None and own is not None and sent_to.get(own.location, ("",))[0] == name:
            own_time, held_time = decimal_value(own.client_time), decimal_value(record.client_time)
            if own_time is not None and held_time is not None and own_time < held_time:
                context.transcript.note(
                    f"{name} kept the IAMAT a client sent it with an older client time (iamat-stale "
                    f"names that, IAMAT-7), so the record {receiver or 'another server'} flooded, "
                    "newer than that one, rightly replaced it (FLOOD-2)"
                )
                continue
        if held is None:
            what = "no longer answers WHATSAT with an AT line for the client"
        elif receiver:
            what = f"replaced the newest record with the {kind} IAMAT a client sent to {receiver}"
        else:
            what = "answers WHATSAT with another AT line than the newest record"
        _fail_or_defer(
            context, f"{name} {what}", kind if receiver else "", expected=repr(newest), seen=show(held)
        )


def _fail_or_defer(context: CheckContext, summary: str, kind: str, *, expected: str, seen: str) -> None:
    """A duplicate (the newest client time, another location) that replaced the newest record
    is a strict deviation only: the course leaves equal timestamps open (SPEC decision A7), and
    a record that circles for it is flood-storm's. Anything else that replaced it is FLOOD-2."""
    failure = CheckFailed(summary, expected=expected, seen=seen)
    if kind != "duplicate":
        raise failure
    failure.summary += " (an equal client time: a duplicate in herdref's strict profile, SPEC decision A7)"
    context.defer_strict(failure)


def _note_kept_at_receiver(
    context: CheckContext, name: str, kind: str, before: bytes | None, newest_time: bytes
) -> None:
    """A server keeps a stale or duplicate IAMAT sent to it by a client: IAMAT-7 at the server
    a client reports to, which iamat-stale names; this check judges what the others hold."""
    held_before = split_at_fields(before) if before is not None else None
    reprinted = (
        kind == "duplicate"
        and held_before is not None
        and held_before.client_time != newest_time
        and time_close(newest_time, held_before.client_time)
    )
    if reprinted:
        context.transcript.note(
            f"{name} kept the duplicate IAMAT sent to it: it held the newest record with its client "
            "time re-printed smaller, so the duplicate's exact time is newer to it (the re-print is "
            "flood-all's, FLOOD-5)"
        )
    else:
        context.transcript.note(
            f"{name} kept the {kind} IAMAT sent to it by a client (iamat-stale names that, IAMAT-7); "
            "the other servers are judged here"
        )


def _judge_by_report(
    context: CheckContext,
    name: str,
    held: bytes | None,
    newest: bytes,
    *,
    reports: dict[str, tuple[bytes, bytes]],
    sent_to: dict[bytes, tuple[str, str]],
    kept: bytes | None,
) -> None:
    """What ``name`` holds, where the AT replies are malformed (AT-1, at-reply-format's): the
    report its line carries (``reports``: the newest one, and each duplicate or stale one by its
    location), read by location and client time, whatever the line's shape. The newest is
    right; one a client sent to ``name`` itself is iamat-stale's (IAMAT-7); one sent to another
    server replaced the newest record there (FLOOD-2), unless ``name`` had kept an older one
    of its own, which a newer flooded record rightly replaces."""
    if held is None:
        raise CheckFailed(
            f"{name} no longer answers WHATSAT with an AT line for the client",
            expected=repr(newest),
            seen="nothing",
        )
    which = held_report(name, held, reports)
    if which == "newest":
        return
    receiver, kind = sent_to[reports[which][0]]
    if receiver == name:
        context.transcript.note(
            f"{name} kept the {kind} IAMAT sent to it by a client (iamat-stale names that, IAMAT-7); "
            "the other servers are judged here"
        )
        return
    own = carried_report(kept, list(reports.values())) if kept is not None else None
    if own is not None:
        own_location, own_time = list(reports.values())[own]
        own_value, held_value = decimal_value(own_time), decimal_value(reports[which][1])
        if (
            sent_to.get(own_location, ("",))[0] == name
            and own_value is not None
            and held_value is not None
            and own_value < held_value
        ):
            context.transcript.note(
                f"{name} kept the IAMAT a client sent it with an older client time (iamat-stale names "
                f"that, IAMAT-7), so the record {receiver} flooded, newer than that one, rightly "
                "replaced it (FLOOD-2)"
            )
            return
    _fail_or_defer(
        context,
        f"{name} replaced the newest record with the {kind} IAMAT a client sent to {receiver}",
        kind,
        expected=repr(newest),
        seen=repr(held),
    )
