"""STATE-1 at the server a client reports to: it holds the record from its AT reply on, whether
or not a neighbour ever sends the record back."""

from __future__ import annotations

import contextlib
import time
from typing import Final

from herdref.checker.checks.at_lines import at_reply
from herdref.checker.checks.helpers import need_launcher, neighbours_of, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import looks_like_at

#: How often the record is asked for again while waiting to see whether it comes late.
_ASK_EVERY_S: Final = 0.05
#: How long a record is waited for after the reply: a server that keeps it itself does so in
#: the handler that answers, at worst after its floods to the (down) neighbours failed.
_LATE_BY_S: Final = 2.0
#: How long a record shown on the IAMAT's own connection is asked for on new ones once that
#: connection closed (a server learns of the close a moment after it).
_CLOSE_NOTICED_S: Final = 0.5


@check(
    "origin-holds-record",
    "STATE-1",
    "MUST",
    "a server holds the record of an IAMAT it answered, with no neighbour to send it back",
    destructive=True,
    # Before whatsat-reply (herdref.checker.checks orders it): whatsat-reply's WHATSAT right
    # after an IAMAT would meet this defect first, by chance, and call it a reply without the
    # record; present or absent is all this check reads of the reply.
    requires=("dialect", "at-reply-format"),
)
def origin_holds_record(context: CheckContext) -> None:
    """STATE-1: from the moment a server sends the AT reply to an IAMAT it holds that record.
    A herd that keeps a client's record only when the flood comes back from a neighbour (its own
    IAMAT handled as the AT line it floods) answers a WHATSAT right after the reply with '?',
    by chance, as the flood's round trip goes; with every neighbour down it never holds it.
    So the neighbours of one server are killed, it gets an IAMAT, and it is asked for the
    record at once, then for the propagation time."""
    launcher = need_launcher(context)
    target = context.target
    name = min(target.names, key=lambda server: (len(neighbours_of(target, server)), server))
    if target.lookup_bound is None:
        # The dialect step's WHATSATs showed no record on a connection of their own.
        _held_only_while_connected(context, name)
    neighbours = neighbours_of(target, name)
    if not neighbours:
        raise CheckUnsupported(f"{name} has no neighbour, so nothing could send its record back")
    for neighbour in neighbours:
        launcher.kill(neighbour)
    context.transcript.note(
        f"{name}'s neighbours ({', '.join(neighbours)}) are down: none can send a record back"
    )
    try:
        client = context.client_id()
        try:
            line = at_reply(context, name, client, context.location(), context.now_time())
        except CheckFailed as failure:
            # No AT reply while its neighbours are down: a down neighbour holding up a reply is
            # restart-reconnect's to judge (LINK-4), not a record kept or not.
            raise CheckUnsupported(
                f"with its neighbours down, {name} gave no AT reply to check the record of "
                f"({failure.summary}; restart-reconnect judges that, LINK-4)"
            ) from None
        replied = time.monotonic()
        late_by_s = min(_LATE_BY_S, target.propagation_s)
        held = context.stored_line(name, client)
        if held is None:
            try:
                wait_until(
                    lambda: context.stored_line(name, client) is not None,
                    deadline_s=context.remaining(late_by_s),
                    poll_s=_ASK_EVERY_S,
                )
            except DeadlinePassed:
                context.learned["origin_record_missing"] = (
                    f"{name} held no record of an IAMAT it answered while its neighbours were down"
                )
                raise CheckFailed(
                    f"{name} answered an IAMAT but held no record of the client while its neighbours "
                    f"were down (a WHATSAT there got no AT line for {late_by_s:g} s): it "
                    "keeps a client's record only when a neighbour sends it back",
                    expected=f"the record {show(line)} from the AT reply on",
                    seen="no record",
                ) from None
            # Held, but only after the reply: a race with the reply's write, which a replay may
            # not meet again; noted, not failed.
            context.transcript.note(
                f"{name} held the record only {time.monotonic() - replied:.3f} s after its AT reply "
                "(STATE-1 asks it from the reply on)"
            )
    finally:
        for neighbour in neighbours:
            launcher.start(neighbour)
        for neighbour in neighbours:
            launcher.wait_listening(neighbour, deadline_s=target.startup_s)


def _held_only_while_connected(context: CheckContext, name: str) -> None:
    """STATE-1 where no WHATSAT on a connection of its own shows a record: an IAMAT and then a
    WHATSAT for its client on one kept-open connection, and the WHATSAT again on a new one once
    that connection closed. The record shown on the IAMAT's own connection and not after it
    closed is kept only while the client is connected (a Twisted herd deleted it in
    connectionLost); otherwise nothing is judged here (stored_line says why, UNSUPPORTED)."""
    client = context.client_id("connected")
    iamat = b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time())
    whatsat = b"WHATSAT %s 10 1\n" % client
    try:
        with context.session(name) as session:
            session.send(iamat)
            answered = session.read_reply(request=iamat)
            if answered is None or not looks_like_at(answered):
                return
            # Its first line is all that is read: whether it is the record (how the answer
            # ends is whatsat-reply's business).
            session.send(whatsat)
            while_connected = session.read_reply(request=whatsat)
        if while_connected is None or not looks_like_at(while_connected):
            return
        answers: list[bytes | None] = []

        def no_record_after() -> bool:
            with context.session(name) as session:
                session.send(whatsat)
                answers.append(session.read_reply(request=whatsat))
            return answers[-1] is None or not looks_like_at(answers[-1])

        # The server learns of the close a moment after it: asked again for a little while.
        with contextlib.suppress(DeadlinePassed):
            wait_until(no_record_after, deadline_s=_CLOSE_NOTICED_S, poll_s=_ASK_EVERY_S)
        after = answers[-1]
    except OSError:
        return
    if after is None or looks_like_at(after):
        return  # the record, or no answer at all (not evidence of a record forgotten)
    context.learned["records_kept_while_connected"] = (
        f"{name} showed a record to a WHATSAT on the IAMAT's own connection and not on a new one once "
        "that one had closed: no WHATSAT on a connection of its own shows a record"
    )
    raise CheckFailed(
        f"{name} showed the record of an IAMAT to a WHATSAT on the IAMAT's own connection, and not to "
        "the same WHATSAT on a new connection once that one had closed: it keeps a client's record "
        "only while the client's connection is open",
        expected=f"the record {show(answered)} from the AT reply on, on any connection",
        seen=f"on the IAMAT's connection: {show(while_connected[:120])}; "
        f"after it closed, on a new connection: {show(after)}",
    )
