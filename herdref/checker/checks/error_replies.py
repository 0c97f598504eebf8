"""What a '?' reply holds and what comes after it (SPEC section 7: ERR-1's copy, ERR-2; the
connection kept after a refusal; WHATSAT-4's refusal of a client no server knows). The checks of
which lines are refused are in :mod:`herdref.checker.checks.errors`, judged before these."""

from __future__ import annotations

from typing import Final

from herdref.checker.checks.errors import ONE_KIND_OF_INVALID_LINE
from herdref.checker.checks.helpers import (
    alive_after,
    error_for,
    exited,
    expect_error_graded,
    goes_on_after,
    named_together,
    no_error_reply_or,
    one_command_per_connection,
    refusal_failure,
    refused_when_plain,
    send_invalid,
    show,
    start_again_if_exited,
)
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.client import LineSession
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    is_error_reply_for,
    looks_like_at,
    split_line,
)


# Its third line holds octets that are not UTF-8: a herd that cannot take those is named once,
# by lex-octets (LEX-2).
@check(
    "error-echo-raw",
    "ERR-2",
    "MUST",
    "'? ' is followed by the line exactly as received (odd spacing kept)",
    requires=("dialect", "at-reply-format", "error-reply"),
    reads_malformed_at=True,  # it judges '?' replies only
)
def error_echo_raw(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id()
    # (A line with octets that are not UTF-8 is lex-octets' business.) Each line is judged on
    # its own: one that gets no '?' at all is the invalid-* checks' business (UNSUPPORTED
    # here), and must not keep the copy of the next one from being judged.
    unsupported: CheckUnsupported | None = None
    core: list[CheckFailed] = []  # judged all, named together: one defect hides no other
    judged = 0
    # The WHATSAT line names a client the server knows, so that it is refused for its bound
    # alone: how a herd answers an unknown client is unknown-client's business (WHATSAT-4).
    # Its reply is not judged here (an IAMAT that is not answered is iamat's business).
    context.iamat(name, client, context.location(), context.now_time())
    # First the course graders' own form (single spaces, LF; SPEC ERR-1's "?", SP, copy): a
    # herd that answers none of the odd lines below (a crash on 'never' or 'x') still shows
    # here how its '?' reply is written. The last line is ended by EOF, not LF (FRAME-2): its
    # last octet is part of the copy too.
    for line, ending, unanswered in (
        (b"IAMAT %s +12-118" % client, b"\n", _PLAIN_UNANSWERED),
        # An unknown command word: the one line nearly every herd refuses, so a herd that dies
        # on every other invalid line still shows its copy (a student herd answered '? ' and
        # no copy, and crashed on all the lines below).
        (b"HELLO %s" % client, b"\n", _UNKNOWN_WORD_UNANSWERED),
        (b"IAMAT  %s\t+12-118  never" % client, b"\n", None),
        (b"  WHATSAT %s\t10 x\t" % client, b"\n", None),
        # Numbers written unusually: a copy rebuilt from the parsed fields writes '10 21' (a
        # student herd wrote the radius back in metres), which is another line, not its copy.
        (b"WHATSAT %s 010 21" % client, b"\n", _BOUND_UNANSWERED),
        (b"IAMAT %s +12-118 never" % client, b"", _EOF_UNANSWERED),
    ):
        try:
            expect_error_graded(
                context,
                name,
                line + ending,
                f"the reply to {line!r} is not '?', SP and the line as received",
                raw=not ending,
                unanswered=unanswered,
            )
        except CheckUnsupported as exc:
            unsupported = unsupported or exc
            # A line that got no '?' at all is an invalid-* check's (bound 21: invalid-bound's),
            # its death too (a student herd called sys.exit() on it): started again, the server
            # still shows how it copies the lines after it, and the death is named once, there.
            try:
                alive_after(context, name)
            except CheckFailed:
                if not start_again_if_exited(context, name, None):
                    break  # still dead: the run's check of a dead server names it (ERR-4)
            continue
        except CheckFailed as failure:
            if failure.clause == "ERR-2":
                context.defer_strict(failure)
            elif not goes_on_after(context, name, failure, core):
                break
        judged += 1
    if core:
        # One kind of defect per '?' reply named (no SP after '?' on every line, once).
        raise named_together(core, kind=lambda failure: failure.summary.partition(": ")[2])
    if not judged and unsupported is not None:
        raise unsupported
    alive_after(context, name)


#: Why error-echo-raw has nothing to judge when a line gets no '?' at all: the plain line with
#: too few fields and the line ended by EOF are other checks' business.
_PLAIN_UNANSWERED: Final = (
    "a plain IAMAT with too few fields got no '?' at all: invalid-field-count's business (ERR-3)"
)
_UNKNOWN_WORD_UNANSWERED: Final = (
    "an unknown command word got no '?' at all: invalid-command's business (LEX-4)"
)
_BOUND_UNANSWERED: Final = "a bound of 21 got no '?' at all: invalid-bound's business (WHATSAT-3)"
_EOF_UNANSWERED: Final = "a line ended by EOF got no '?' at all: frame-no-final-newline's business (FRAME-2)"


@check(
    "error-keeps-connection",
    "ERR-1",
    "MUST",
    "after '? <line>' the connection stays open for more commands",
    requires=("dialect", "at-reply-format", "error-reply"),
    # Any AT-shaped reply after the '?' shows the connection kept (its shape is AT-1's).
    reads_malformed_at=True,
)
def error_keeps_connection(context: CheckContext) -> None:
    cached = context.target.dialect_probes
    if cached is not None and not cached.iamat.kept_open_answered:
        raise CheckUnsupported(
            "the server answers no command on a kept-open connection (the dialect step's probe): "
            "only after a half-close (FRAME-3, lenient)"
        )
    reason = one_command_per_connection(context)
    if reason is not None:
        # The line after the first command is never read, so a missing '?' says nothing about
        # ERR-1 (and waiting for it would only spend the run's budget).
        raise CheckUnsupported(
            f"a second command on one connection gets no reply here ({reason}; FRAME-3 lenient "
            "allows one command per connection), so whether a '?' keeps the connection cannot be seen"
        )
    name = context.target.names[0]
    client = context.client_id()
    with context.session(name) as session:
        session.send(b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
        if session.read_reply() is None or session.closed:
            raise CheckUnsupported("the server answers one command per connection (FRAME-3, lenient)")
        # An invalid IAMAT, then invalid WHATSATs, each followed by a valid IAMAT on the same
        # connection: a herd's handler may go wrong after the '?' for one kind of line only (a
        # student herd closed the connection after the '?' for a radius or bound that is no
        # number, but not after an invalid IAMAT).
        _refused_and_kept(context, session, name, client, b"IAMAT %s +12-118 never\n" % client)
        for bad in (b"WHATSAT %s ten 5\n" % client, b"WHATSAT %s 10 five\n" % client):
            if not _refused_and_kept(context, session, name, client, bad, only_if_refused=True):
                return


def _refused_and_kept(
    context: CheckContext,
    session: LineSession,
    name: str,
    client: bytes,
    bad: bytes,
    *,
    only_if_refused: bool = False,
) -> bool:
    """``bad`` sent on ``session`` gets a '?' reply, and the IAMAT sent after it an AT line.
    With ``only_if_refused``, a reply that is no '?' is not judged (False: the session is then
    of no more use): not refusing the line at all is an invalid-* check's defect (WHATSAT-2,
    WHATSAT-3), and what that reply holds is no line's answer to read past."""
    session.send(bad)
    reply = session.read_reply()
    if only_if_refused and (reply is None or not reply.lstrip().startswith(b"?")):
        context.transcript.note(
            f"{bad.strip()!r} got no '?' here: refusing it at all is the invalid-* checks' business"
        )
        return False
    if reply is None and session.closed:
        # Closed at the invalid line with no reply, by a herd the dialect step saw answer a
        # second command on one connection (not single-shot, or the check stopped above).
        # If the line gets no '?' on a connection of its own either, the herd does not
        # refuse it at all (a handler that dies on it): the invalid-* checks name that.
        refused_when_plain(context, name, bad)
        raise CheckFailed(
            "an invalid line on a kept-open connection got no '?' reply: the server closed the "
            "connection at it (on a connection of its own, the same line gets '?')",
            expected=repr(error_for(bad)),
            seen="nothing; the connection was closed",
        )
    split = (
        split_line(reply, crlf=context.target.dialect.iamat.terminator == "CRLF")
        if reply is not None
        else None
    )
    if reply is None:
        # Nothing at all, the connection left open: if the same line on a connection of its
        # own gets no '?' either, the herd does not refuse it at all, which the invalid-*
        # checks name (LEX-6, WHATSAT-2, WHATSAT-3); naming it here too would name one defect
        # twice (a handler that crashed on the time and closed nothing).
        refused_when_plain(context, name, bad)
    # Any '?' will do, with or without its final LF (SPEC 1.1 lenient) or the SP after it:
    # what it copies, and how, is error-echo-raw's business.
    first_line = split[0] if split is not None else reply or b""
    if not first_line.lstrip().startswith(b"?"):
        raise CheckFailed(
            "an invalid line on a kept-open connection got no '?' reply",
            expected=repr(error_for(bad)),
            seen=show(reply),
        )
    session.send(b"IAMAT %s %s %s\n" % (client, context.location(), context.now_time()))
    reply = session.read_reply()
    if reply is None or not looks_like_at(reply):
        raise CheckFailed(
            f"after the '?' reply to {bad.strip()!r} the connection no longer answers",
            expected="an AT line for the next IAMAT on the same connection",
            seen=show(reply) + (" (connection closed)" if session.closed else ""),
        )
    return True


@check(
    "unknown-client",
    "WHATSAT-4",
    "MUST",
    "WHATSAT for a client no server knows gets '? <line>'",
    requires=ONE_KIND_OF_INVALID_LINE,
)
def unknown_client(context: CheckContext) -> None:
    """WHATSAT-4: the reply is ``?`` and a copy of the line (ERR-1; ERR-2 for its white space,
    strict only), judged as the course's graders do (fields compared after stripping, SPEC
    1.1 lenient). A copy that is wrong on every '?' the server sends is error-echo-raw's
    defect, named there once: here only a copy that is wrong for this refusal alone fails."""
    line = b"WHATSAT %s 10 5\n" % context.client_id("nobody")
    copies_elsewhere: dict[bool, bool] = {}  # strict -> whether a plain invalid line is copied
    for name in context.target.running:
        summary = f"{name} did not answer '? <line>' for an unknown client"
        reply = send_invalid(context, name, line)
        failure = refusal_failure(line, reply, summary)
        if failure is not None:
            if not reply.data and reply.closed and exited(context, name):
                # Every later WHATSAT that asks whether a record has arrived yet is one for a
                # client unknown there until it has: the run learns that it kills (knowledge).
                failure.summary += f"; {name} exited on it"
                context.learned["unknown_client_kills"] = (
                    f"unknown-client: {name} exited on a WHATSAT for a client no server knows (WHATSAT-4)"
                )
            raise no_error_reply_or(context, reply, failure)
        answer = reply.data.removesuffix(b"\n")
        for strict, clause in ((False, "ERR-1"), (True, "ERR-2")):
            if is_error_reply_for(line, answer, strict=strict):
                continue
            if strict not in copies_elsewhere:
                copies_elsewhere[strict] = _copies_a_plain_invalid_line(context, name, strict=strict)
            if not copies_elsewhere[strict]:
                context.transcript.note(
                    f"{name}'s '?' does not copy this line, nor a plain invalid IAMAT: the copy is "
                    f"error-echo-raw's business ({clause})"
                )
                break
            what = "does not copy the line" if not strict else "copies the line with other white space"
            raise CheckFailed(
                f"{summary}: its '?' reply {what}, although the server copies other invalid lines",
                expected=repr(error_for(line)),
                seen=show(reply.received or None),
                clause=clause,
            )
        alive_after(context, name)


def _copies_a_plain_invalid_line(context: CheckContext, name: str, *, strict: bool) -> bool:
    """Whether ``name`` answers a plain invalid line (single spaces, LF; a time that is no
    number) with '?' and its copy: the control that tells a copy wrong only for one refusal
    from one wrong on every '?' (error-echo-raw's)."""
    control = b"IAMAT %s +12-118 never\n" % context.client_id("control")
    reply = context.send(name, control)
    return is_error_reply_for(control, reply.data.removesuffix(b"\n"), strict=strict)
