"""A command ended by EOF does all that a command does: its record is flooded (FRAME-2).

FRAME-2: "When the client half-closes or closes the connection after a non-empty partial line,
EOF ends that line: it is a command like any other." The course's TA client writes a command
without its final LF and half-closes (protocol notes A1, A3). frame-no-final-newline judges
that such an IAMAT is answered; a herd that answers it right but builds its flood message from
the raw received buffer (whose LF it counts on as a separator) sends its neighbours a glued or
malformed line, which they refuse: the record never leaves the server (issue 11, a student
herd). Every flooded IAMAT the other checks send ends in LF, so only this check sees it.
"""

from __future__ import annotations

from herdref.checker.checks.at_lines import at_reply
from herdref.checker.checks.helpers import neighbours_of, reachable_without
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.checks.spreading import require_spread
from herdref.checker.target import CheckContext, CheckUnsupported

#: What require_spread fails for a record that did not spread as the same line: those are
#: this check's (the same records, ended by LF, spread: flood-all passed). Another failure on
#: the way (a WHATSAT answered with nothing, WHATSAT-4) keeps its own clause.
_SPREAD_CLAUSES = ("FLOOD-1", "FLOOD-5")


@check(
    "flood-eof-ended",
    "FRAME-2",
    "MUST",
    "an IAMAT ended by EOF (no final LF) is flooded like any other: its record reaches the herd",
    # A herd that does not answer such an IAMAT is frame-no-final-newline's FAIL (FRAME-2), and
    # one that does not flood at all is flood-all's (FLOOD-1): neither is named again here.
    requires=("dialect", "at-reply-format", "frame-no-final-newline", "flood-all"),
    # Arrival is judged by the report each server's line carries when the AT reply is
    # malformed (AT-1, at-reply-format's), as flood-all does.
    reads_malformed_at=True,
)
def flood_eof_ended(context: CheckContext) -> None:
    target = context.target
    origin = next((name for name in target.names if neighbours_of(target, name)), None)
    if origin is None:
        raise CheckUnsupported("no server has a neighbour: there is no flood to follow")
    client = context.client_id()
    report = (context.location(), context.now_time())
    line = at_reply(context, origin, client, *report, ended_by_eof=True)
    holders = reachable_without(target, origin, set()) - {origin}
    try:
        require_spread(context, origin, holders, client, line, report=report)
    except CheckFailed as failure:
        if failure.clause not in _SPREAD_CLAUSES:
            raise
        raise CheckFailed(
            f"{origin} answered an IAMAT ended by EOF without a final LF, but {failure.summary[:1].lower()}"
            f"{failure.summary[1:]}; a command ended by EOF is not flooded as one ended by LF is "
            "(flood-all saw those spread)",
            expected=failure.expected,
            seen=failure.seen,
        ) from None
