"""WHATSAT at a server that got its record by flooding (WHATSAT-5, WHATSAT-6).

whatsat-reply asks the server a client reported to. A herd may store a flooded record in
another form than its own (a student herd kept the line of its own flood format, and its
WHATSAT glued the JSON to the AT line at every server but the origin): the client asking any
other server reads a broken reply, which no check at the origin shows. flood-all reads the
record such a server holds for arrival (the AT line inside the first line); the reply's form is
judged here, as whatsat-reply judges the origin's.
"""

from __future__ import annotations

from dataclasses import replace

from herdref.checker.checks.at_lines import at_reply
from herdref.checker.checks.helpers import neighbours_of
from herdref.checker.checks.registry import CheckBlocked, CheckFailed, check
from herdref.checker.checks.whatsat import judge_whatsat_reply
from herdref.checker.checks.whatsat_reading import places_reply
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.places_evidence import records_unseen
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import split_at_fields


@check(
    "whatsat-origin-named",
    "WHATSAT-5",
    "MUST",
    "WHATSAT at a server that got the record by flooding answers an AT line naming the server the "
    "client reported to, not itself",
    # A herd that writes WHATSAT's AT line from its stored fields writes its own name there.
    # Not after whatsat-reply: a line rebuilt at the origin (its time difference as of the
    # query, say) is no evidence of which name it writes elsewhere, and a herd whose own flood
    # format drops the origin's name names the server asked whatever its WHATSAT does. Nor
    # after flood-all, which cannot be judged where WHATSAT rebuilds the line (whatsat-reply
    # BLOCKS it): only a herd flood-all saw flood nothing, or change the lines it relays, blocks
    # this one. flood-all counts a line that names the server asked, and is the record's
    # otherwise, as the record arrived, for this check to name.
    requires=("dialect", "at-reply-format"),
)
def whatsat_origin_named(context: CheckContext) -> None:
    target = context.target
    bound = target.lookup_bound
    if bound is None:
        raise records_unseen(target.knowledge, target.dialect_probes, target.places_route)
    if target.knowledge.does_not_flood is not None:
        raise CheckBlocked("flood-all", f"no record arrives by flooding: {target.knowledge.does_not_flood}")
    if target.knowledge.relayed_lines_changed is not None:
        # A relay that changes the line may write the name too: the WHATSAT cannot be told apart.
        raise CheckBlocked("flood-all", f"relayed lines change: {target.knowledge.relayed_lines_changed}")
    origin = next((name for name in target.names if neighbours_of(target, name)), None)
    if origin is None:
        raise CheckUnsupported("no server has a neighbour: no record arrives by flooding")
    neighbour = neighbours_of(target, origin)[0]
    client = context.client_id()
    at_reply(context, origin, client, context.location(), context.now_time())
    answered: list[bytes] = []

    def record_shown() -> bool:
        reply = context.whatsat(neighbour, client, bound=bound, linger=False)
        # The AT line as the checks read records: found behind words of the herd's own or with
        # the body glued after it (whatsat-reply's to name, WHATSAT-5).
        held = context.held_line(reply.data)
        if held is not None and client in held.split()[2:]:
            answered.append(held)
        return bool(answered)

    try:
        # A tenth of a second between asks: each may cost the herd a Places request.
        wait_until(record_shown, deadline_s=context.remaining(target.propagation_s), poll_s=0.1)
    except DeadlinePassed:
        raise CheckUnsupported(
            f"{neighbour} answered no WHATSAT with an AT line for the client within the propagation time"
        ) from None
    if split_at_fields(answered[0]) is None:
        raise CheckUnsupported(
            f"{neighbour} answers WHATSAT with {answered[0][:200]!r}, no AT line of AT-1's shape: which "
            "server it names cannot be read (the reply's form is whatsat-reply's, WHATSAT-5)"
        )
    # Each server writes its own name in its AT replies (at-reply-format, a prerequisite).
    named = answered[0].split()[1]
    if named == neighbour.encode():
        raise CheckFailed(
            f"{neighbour} answers WHATSAT for a record that came from {origin} with an AT line "
            f"naming itself ({neighbour})",
            expected=f"the AT line naming {origin}, the server the client reported to",
            seen=repr(answered[0][:200]),
            clause="WHATSAT-5",
        )
    context.transcript.note(f"{neighbour}'s AT line names {named!r} (the client reported to {origin})")


@check(
    "whatsat-reply-flooded",
    "WHATSAT-5",
    "MUST",
    "a server that got a record by flooding answers WHATSAT as the origin does: that AT line, "
    "LF, JSON without empty lines, LF LF",
    # A reply wrong at the origin is whatsat-reply's (named once, there), and a record that does
    # not reach the neighbour is flood-all's (FLOOD-1).
    # A line naming the answering server is whatsat-origin-named's, named once there.
    requires=("dialect", "at-reply-format", "whatsat-reply", "flood-all", "whatsat-origin-named"),
)
def whatsat_reply_flooded(context: CheckContext) -> None:
    target = context.target
    if not target.places_work:
        raise CheckUnsupported("no WHATSAT reply with places was seen: whatsat-reply says why")
    origin = next((name for name in target.names if neighbours_of(target, name)), None)
    if origin is None:
        raise CheckUnsupported("no server has a neighbour: no record arrives by flooding")
    neighbour = neighbours_of(target, origin)[0]
    client = context.client_id()
    line = at_reply(context, origin, client, context.location(), context.now_time())
    held = context.wait_for_line([neighbour], client, line, any_record=True).get(neighbour)
    if held is None:
        raise CheckUnsupported(f"{neighbour} showed no record of the client within the propagation time")
    if held != line:
        # Another line than the origin's reached it (FLOOD-5, flood-all's to name): the reply
        # is judged against the line it holds, so that only the reply's form is judged here.
        context.transcript.note(f"{neighbour} holds {held!r}: the reply is judged against that line")
    reply = places_reply(context, neighbour, client, b"10", 5)
    if target.knowledge.relayed_spacing is not None:
        # flood-all named the relayed lines' white space (FLOOD-5): the first line is judged
        # squeezed, so that only what else this reply does wrong is named here.
        first, newline, rest = reply.data.partition(b"\n")
        reply = replace(reply, data=b" ".join(first.split()) + newline + rest)
    try:
        judge_whatsat_reply(held, reply)
    except CheckFailed as at_neighbour:
        # The same deviation at the origin is whatsat-reply's (a herd whose replies all lack
        # the final empty line, which lenient allows): named once, there.
        try:
            judge_whatsat_reply(line, places_reply(context, origin, client, b"10", 5))
        except CheckFailed as at_origin:
            if _kind(at_origin) == _kind(at_neighbour):
                context.transcript.note(f"{origin}'s reply deviates alike: whatsat-reply's to name")
                return
        raise


def _kind(failure: CheckFailed) -> tuple[str | None, str, bool | None]:
    """What a failure of the reply's form says, without the lines it quotes."""
    return failure.clause, failure.summary.partition(":")[0], failure.strict_part
