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
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.checks.whatsat import judge_whatsat_reply
from herdref.checker.checks.whatsat_reading import places_reply
from herdref.checker.target import CheckContext, CheckUnsupported


@check(
    "whatsat-reply-flooded",
    "WHATSAT-5",
    "MUST",
    "a server that got a record by flooding answers WHATSAT as the origin does: that AT line, "
    "LF, JSON without empty lines, LF LF",
    # A reply wrong at the origin is whatsat-reply's (named once, there), and a record that does
    # not reach the neighbour is flood-all's (FLOOD-1).
    requires=("dialect", "at-reply-format", "whatsat-reply", "flood-all"),
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
