"""An invalid IAMAT changes nothing (SPEC IAMAT-2), at its server and at a neighbour.

IAMAT-2: "An IAMAT with any other number of fields, or whose location or client time is
malformed or out of range, is invalid (ERR-3) and changes nothing." A herd that writes the
location into the client's record before it checks the time answers the line ``?`` (ERR-1 is
met) but has overwritten the record: a WHATSAT then shows another location, or, where the record
was left half written, gets no reply at all (a student herd: its stored ``[latitude, longitude]``
had lost the time the AT line is built from).

Only lines the herd itself refused with ``?`` are judged here: a line it took (an AT reply) is
the invalid-time, invalid-location or invalid-field-count check's defect (LEX-5, LEX-6, ERR-3),
and a line it did not answer at all is theirs too (ERR-4). What the ``?`` copies is ERR-2's."""

from __future__ import annotations

from typing import Final

from herdref.checker.checks.at_lines import at_reply, is_malformed
from herdref.checker.checks.helpers import neighbours_of, show
from herdref.checker.checks.registry import CheckBlocked, CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import carried_report, looks_like_at, same_record

__all__ = ["invalid_iamat_unchanged"]

#: A location no reading of LEX-5 takes (a comma for the point), and a time no reading of LEX-6
#: takes (not a number at all): both MUST be refused in every profile.
_BAD_LOCATION: Final = b"+34,5-118.2"
_BAD_TIME: Final = b"abc"


#: What makes each invalid IAMAT invalid; one client each, so that each line is judged alone.
_KINDS: Final = (
    "a client time that is no number",
    "a malformed location",
    "a fifth field",
    "a missing client time",
)


def _invalid_line(context: CheckContext, client: bytes, kind: str) -> bytes:
    """The invalid IAMAT of ``kind`` for ``client``. It carries a new, valid location and a newer
    valid time where it can, so that a herd that applies any part of it shows a changed record."""
    location, newer = context.location(), context.now_time(1.0)
    return {
        _KINDS[0]: b"IAMAT %s %s %s\n" % (client, location, _BAD_TIME),
        _KINDS[1]: b"IAMAT %s %s %s\n" % (client, _BAD_LOCATION, newer),
        _KINDS[2]: b"IAMAT %s %s %s extra\n" % (client, location, newer),
        _KINDS[3]: b"IAMAT %s %s\n" % (client, location),
    }[kind]


def _holds(held: bytes | None, line: bytes, report: tuple[bytes, bytes]) -> bool:
    """Whether ``held`` (a server's answer's AT line) is the record ``line`` answered the IAMAT
    of ``report`` with; where ``line`` is malformed (AT-1, at-reply-format's), whether ``held``
    still carries that report's location and client time."""
    if held is None:
        return False
    if is_malformed(line):
        return carried_report(held, [report]) == 0
    return same_record(held, line, any_time_diff=True)


def _held(context: CheckContext, name: str, client: bytes) -> bytes | None:
    """What ``name`` answers a WHATSAT for ``client`` with: its AT line, or None when it answers
    anything else. No reply at all is None too (the caller says what that means)."""
    return context.stored_line(name, client, silence_is_none=True)


@check(
    "invalid-iamat-unchanged",
    "IAMAT-2",
    "MUST",
    "an IAMAT refused with '?' changes nothing: the client's record stays, at its server and its neighbours",
    # It judges only lines refused with '?': a herd that answers no invalid line '?' is named
    # once, by error-reply (ERR-1).
    requires=("dialect", "at-reply-format", "error-reply"),
    # A malformed AT reply (AT-1) that carries the report sent still shows whether the record
    # changed: by the location and client time the server's answers carry.
    reads_malformed_at=True,
)
def invalid_iamat_unchanged(context: CheckContext) -> None:
    target = context.target
    name = target.names[0]
    neighbours = [n for n in neighbours_of(target, name) if n not in target.knowledge.kept_down]
    judged: list[tuple[bytes, bytes, bytes]] = []  # (client, the record, the invalid line)
    refused = 0  # invalid lines refused with '?' that left the record as it was
    held_there: dict[bytes, bytes | None] = {}  # client -> what the first neighbour holds
    for what in _KINDS:
        client = context.client_id()
        report = (context.location(), context.now_time())
        line = at_reply(context, name, client, *report)
        before = _held(context, name, client)
        missing = target.knowledge.origin_record_missing
        if before is None and missing is not None:
            raise CheckBlocked(
                "origin-holds-record",
                f"{name} holds no record of a client right after its AT reply ({missing}), so whether "
                "a later line changes the record cannot be seen",
            )
        if not _holds(before, line, report):
            raise CheckUnsupported(
                f"{name} answers a WHATSAT for a client it just stored with "
                f"{'no AT line' if before is None else show(before)}, not the "
                f"record {line!r} (whatsat-reply judges that, WHATSAT-5), so whether a later line "
                "changes the record cannot be seen"
            )
        if neighbours and not is_malformed(line):
            # What the neighbour holds once the record has arrived, whatever the line (a relay
            # that changes it is flood-all's business, FLOOD-5), before the invalid line is sent.
            held_there[client] = context.wait_for_line(neighbours[:1], client, line, any_record=True)[
                neighbours[0]
            ]
            if held_there[client] is None:
                # No record reached it in the whole propagation time (flood-all's, FLOOD-1):
                # the other lines are judged at this server alone, with no wait for each.
                context.transcript.note(
                    f"{neighbours[0]} never showed the record (flood-all judges that, FLOOD-1): "
                    f"only {name} itself is judged"
                )
                neighbours = []
        invalid = _invalid_line(context, client, what)
        reply = context.send(name, invalid)
        if not reply.data.startswith(b"?"):
            context.transcript.note(
                f"{what}: {name} did not refuse {invalid!r} with '?' ("
                + ("it took it as valid" if looks_like_at(reply.data) else "no '?' reply")
                + "): that is the invalid-* checks' business, so this line is not judged here"
            )
            continue
        answer = context.whatsat(name, client, bound=target.lookup_bound or 0).data
        after = context.held_line(answer)
        if after is not None and _holds(after, line, report):
            refused += 1
            if not is_malformed(line):  # a neighbour's copy is compared by its line
                judged.append((client, line, invalid))
            continue
        if not answer:
            _still_answers(context, name, invalid)
            raise CheckFailed(
                f"{name} refused an IAMAT with {what} ('?'), and then a WHATSAT for that client, "
                "which it had answered with the client's record, got no reply (a valid IAMAT after it "
                "still did): the invalid line changed the stored record",
                expected=f"WHATSAT answered with the record kept: {before!r}",
                seen=f"before: {before!r}; after {invalid!r}: no reply",
            )
        raise CheckFailed(
            f"{name} refused an IAMAT with {what} ('?'), yet a WHATSAT for that client then showed "
            "another answer than the record it held before: the invalid line changed it",
            expected=f"WHATSAT answered with the record kept: {before!r}",
            seen=f"before: {before!r}; after {invalid!r}: {show(after if after is not None else answer)}",
        )
    if not refused:
        raise CheckUnsupported(
            f"{name} refused none of the invalid IAMATs with '?' (the invalid-* checks judge that), "
            "so whether a refused line changes a record could not be seen"
        )
    if not judged:
        context.transcript.note(
            f"{name}'s AT lines are malformed (AT-1): only {name} itself was judged, by the location "
            "and client time its answers carry"
        )
        return
    _judge_neighbours(context, name, neighbours, judged, held_there)


def _still_answers(context: CheckContext, name: str, invalid: bytes) -> None:
    """``name`` answers a valid IAMAT after ``invalid``; a server that no longer answers at all
    has died or hung on the line (ERR-4, the invalid-* checks'), which says nothing of its
    record (CheckUnsupported)."""
    reply = context.iamat(name, context.client_id("alive"), context.location(), context.now_time())
    if not looks_like_at(reply.data):
        raise CheckUnsupported(
            f"after {invalid!r} (answered '?'), {name} answers a valid IAMAT with "
            f"{show(reply.received or None)}: it no longer works at all (ERR-4, the invalid-* checks' "
            "business), so what it holds cannot be seen"
        )


def _judge_neighbours(
    context: CheckContext,
    name: str,
    neighbours: list[str],
    judged: list[tuple[bytes, bytes, bytes]],
    held_before: dict[bytes, bytes | None],
) -> None:
    """Each record still held unchanged by a neighbour of ``name`` once a valid record sent
    after the invalid lines has reached it (links pass records in order, so whatever the invalid
    lines made ``name`` flood has arrived by then). A neighbour the records never reached is
    flood-all's business (FLOOD-1) and is not judged."""
    if not neighbours:
        context.transcript.note(f"{name} has no running neighbour: only {name} itself was judged")
        return
    neighbour = neighbours[0]
    marker = context.client_id("marker")
    marker_line = at_reply(context, name, marker, context.location(), context.now_time())
    context.wait_for_line([neighbour], marker, marker_line, any_record=True)
    for client, line, invalid in judged:
        before = held_before[client]
        if before is None:
            context.transcript.note(
                f"{neighbour} does not show the record {line!r} (flood-all judges that, FLOOD-1): "
                "not judged there"
            )
            continue
        after = _held(context, neighbour, client)
        if after is None or not same_record(after, before, any_time_diff=True):
            raise CheckFailed(
                f"{name} refused an invalid IAMAT ('?') and kept its own record, yet its neighbour "
                f"{neighbour} no longer holds the record it held before: the invalid line was passed on",
                expected=f"{neighbour} answers WHATSAT with {before!r}",
                seen=f"after {invalid!r} at {name}: {show(after)}",
            )
