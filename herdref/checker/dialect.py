"""The dialect step: find out once how the target frames input and output, per command.

For IAMAT and, separately, for WHATSAT (a herd may lose a WHATSAT reply on half-close and
answer it on a kept-open connection), one connection each way:

* half-close: send the command with LF, half-close, read; was it answered, how did the reply
  end (LF, CRLF, nothing before the close), and did the server then close (FRAME-4)?
* kept open: send the command with LF, keep the connection open, read one reply; was it
  answered, and did the server close right after it (single-shot, FRAME-3 lenient)? For IAMAT,
  when it was answered and the connection stayed open: is a second IAMAT on it answered too
  (FRAME-3; a herd that answers only the first is then known, after one wait)?

The checks then talk to the herd in the framing it answers (half-close first, the course
graders' way) and read its replies with its terminator turned into LF, so that each check
tests only its own property; the framing checks report each deviation once, under its clause.
Also found here: how to see what a server holds (``WHATSAT <client> 10 0``, else bound 1) and
whether its Places requests work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Final

from herdref.checker.client import Exchange, LineSession, Transcript, exchange
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.framing_model import CommandFraming, CommandProbe, Dialect, DialectProbes
from herdref.checker.target import Target
from herdref.model.judge import looks_like_at

__all__ = ["CommandProbe", "dialect_probes", "greeting_of", "probe_command", "probe_dialect"]

#: How long to wait, after a reply on a kept-open connection, for the server to close it.
_CLOSE_GRACE_S: Final = 0.3
#: How long a WHATSAT refused right after the IAMAT probes waits for a late record (a round
#: trip through a neighbour takes milliseconds), and how often it asks meanwhile.
_RECORD_LATE_S: Final = 1.0
_RECORD_POLL_S: Final = 0.05
#: How long to wait, after the reply to a half-closed connection, for the server's EOF
#: (FRAME-4): a server that never closes is judged in this time, not the reply timeout.
_EOF_GRACE_S: Final = 2.0
#: A command answered this fast on a half-closed connection is waited for only
#: _KEPT_OPEN_WAIT_S on a kept-open one: a herd that reads to EOF (a common student style)
#: never answers there, and waiting the whole reply timeout cost each such run 5 s of its
#: budget. A herd that answers both ways does so as fast both ways (its reply is the same work).
_FAST_REPLY_S: Final = 0.2
_KEPT_OPEN_WAIT_S: Final = 2.0
#: How long a new connection on which nothing is sent is watched for a greeting line (only when
#: no IAMAT got an AT line first: a herd that greets every connection).
_GREETING_WAIT_S: Final = 0.5


def _read(
    session: LineSession,
    request: bytes,
    *,
    whatsat: bool,
    half_close: bool,
    timeout_s: float,
    linger_s: float,
) -> tuple[bytes, bool]:
    """One reply and whether the server closed after it: the reply ends at LF (LF LF for a
    WHATSAT answer), where the server closed, or, when all of its content is in but not its
    terminator, ``linger_s`` after its last octets (a herd that leaves the empty line off a
    WHATSAT answer and keeps the connection open is probed in that time, not the timeout)."""
    reply = session.read_reply(whatsat=whatsat, timeout_s=timeout_s, request=request, linger_s=linger_s)
    if reply is None:
        return session.buffer, session.closed
    if not session.closed:
        grace = min(_EOF_GRACE_S if half_close else _CLOSE_GRACE_S, timeout_s)
        rest = session.read_until_closed(timeout_s=grace)
        reply += rest
    return reply, session.closed


def probe_command(
    target: Target,
    name: str,
    payload: Callable[[], bytes],
    *,
    whatsat: bool,
    transcript: Transcript | None = None,
    kept_open: bool = True,
    second: bool = False,
) -> CommandProbe:
    """Send a fresh ``payload()`` once with half-close and (unless not ``kept_open``, when it is
    known to go unanswered) once on a kept-open connection; with ``second``, a kept-open
    connection that got its reply and stayed open then carries a second fresh ``payload()``."""
    address = target.config.address(name)
    result = CommandProbe()
    wait_s = target.timeout_s
    for half_close in (True, False) if kept_open else (True,):
        if not half_close and wait_s < target.timeout_s and transcript is not None:
            transcript.note(
                f"the half-closed command was answered within {_FAST_REPLY_S:g} s: on a kept-open "
                f"connection it is waited for {wait_s:g} s"
            )
        asked = time.monotonic()
        try:
            with LineSession(
                address.host,
                address.port,
                timeout_s=target.timeout_s,
                transcript=transcript,
                server=name,
                crlf=target.dialect.sends_crlf,
                greeting=target.dialect.greeting(name),
            ) as session:
                reply, closed = _exchange(
                    session, payload(), whatsat=whatsat, half_close=half_close, wait_s=wait_s, target=target
                )
                if second and not half_close and _answered(reply, whatsat=whatsat) and not closed:
                    # FRAME-3: a connection carries any number of commands. A herd that answers
                    # only the first (lenient) is found here, once, in one wait: the checks
                    # that need a second command on a connection then judge at once.
                    result.second_reply, result.second_closed = _exchange(
                        session, payload(), whatsat=whatsat, half_close=False, wait_s=wait_s, target=target
                    )
                    result.second_answered = _answered(result.second_reply, whatsat=whatsat)
        except OSError:
            reply, closed = b"", True
        answered = _answered(reply, whatsat=whatsat)
        if half_close and answered and time.monotonic() - asked <= _FAST_REPLY_S:
            wait_s = min(target.timeout_s, _KEPT_OPEN_WAIT_S)
        if half_close:
            result.half_close_reply, result.half_close_answered, result.half_close_closed = (
                reply,
                answered,
                closed,
            )
        else:
            result.kept_open_reply, result.kept_open_answered, result.kept_open_closed = (
                reply,
                answered,
                closed,
            )
    return result


def _exchange(
    session: LineSession,
    request: bytes,
    *,
    whatsat: bool,
    half_close: bool,
    target: Target,
    wait_s: float | None = None,
) -> tuple[bytes, bool]:
    """Send ``request`` on ``session`` (then half-close, if told) and read its reply within
    ``wait_s`` (None: the reply timeout)."""
    session.send(request)
    if half_close:
        session.half_close()
    return _read(
        session,
        request,
        whatsat=whatsat,
        half_close=half_close,
        timeout_s=target.timeout_s if wait_s is None else wait_s,
        linger_s=target.linger_s,
    )


def _answered(reply: bytes, *, whatsat: bool) -> bool:
    """``reply`` starts with an AT line (for a WHATSAT: and goes on past it)."""
    return looks_like_at(reply) and (not whatsat or b"\n" in reply)


def _answer(
    target: Target, name: str, payload: bytes, framing: CommandFraming, transcript: Transcript | None
) -> Exchange:
    """What ``payload`` (a WHATSAT) gets in ``framing``."""
    address = target.config.address(name)
    return exchange(
        address.host,
        address.port,
        payload,
        crlf=target.dialect.sends_crlf,
        greeting=target.dialect.greeting(name),
        transcript=transcript,
        server=name,
        half_close=framing.half_close,
        timeout_s=target.timeout_s,
        until_complete=None if framing.half_close and framing.server_closes else True,
        linger_s=target.linger_s,
        whatsat=True,
    )


def _shows_record(reply: bytes) -> bool:
    """A WHATSAT answer that starts with an AT line."""
    return looks_like_at(reply) and b"\n" in reply


def _lone_at_line(reply: bytes) -> bool:
    """The AT line of a WHATSAT answer and nothing after it (no JSON, no empty line)."""
    first, _, rest = reply.replace(b"\r\n", b"\n").partition(b"\n")
    return looks_like_at(first) and not rest.strip()


def _cut_on_half_close(half_closed: bytes, closed: bool, kept_open: bytes) -> bool:
    """FRAME-4: a WHATSAT followed by a half-close got its AT line and then the server's EOF,
    while on a kept-open connection more came after the AT line (a herd that writes the AT line
    at once and the JSON once Places answers, and closes when the client's EOF comes, as an
    ``asyncio.Protocol`` does by default)."""
    return closed and _lone_at_line(half_closed) and _shows_record(kept_open) and not _lone_at_line(kept_open)


def _refused(probe: CommandProbe) -> bool:
    """A '?' to a WHATSAT probe, sent for the client the IAMAT probes had just reported."""
    return probe.half_close_reply.startswith(b"?") or probe.kept_open_reply.startswith(b"?")


def _record_came_late(
    target: Target, name: str, client: bytes, framing: CommandFraming, transcript: Transcript
) -> bool:
    """Whether a WHATSAT for ``client``, sent in the framing IAMAT is answered in, is answered
    otherwise than with '?' within the wait for a late record: a server that keeps a record
    only once a neighbour sends it back refuses a WHATSAT sent right after the reply."""
    transcript.note(f"WHATSAT refused right after the IAMAT: waiting for {name} to hold the record")
    try:
        wait_until(
            lambda: not _answer(target, name, _whatsat(client, 0), framing, transcript).data.startswith(b"?"),
            deadline_s=min(_RECORD_LATE_S, target.propagation_s),
            poll_s=_RECORD_POLL_S,
        )
    except DeadlinePassed:
        return False
    return True


def _whatsat(client: bytes, bound: int) -> bytes:
    return b"WHATSAT %s 10 %d\n" % (client, bound)


def _client(target: Target) -> bytes:
    return b"hv%s.dialect.%d" % (target.run_id.encode(), target.next_serial())


def _reported_client(probe: CommandProbe, clients: list[bytes]) -> bytes:
    """The client of the first IAMAT ``probe`` saw answered (the WHATSAT probes ask for its
    record); the first client when none was."""
    for reply, answered in (
        (probe.half_close_reply, probe.half_close_answered),
        (probe.kept_open_reply, probe.kept_open_answered),
    ):
        # Whichever field the herd put it in: the reply names the client it answers.
        named = [client for client in clients if client in reply.split()] if answered else []
        if named:
            return named[0]
    return clients[0]


def probe_dialect(
    target: Target, *, transcript: Transcript | None = None
) -> tuple[Dialect, CommandProbe, CommandProbe]:
    """The target's dialect, and what IAMAT and WHATSAT got, for the framing checks; the probes
    are kept on the target (:func:`dialect_probes` gives them to the framing checks)."""
    transcript = transcript if transcript is not None else Transcript()
    name = target.names[0]
    location = b"+34.068930-118.445127"
    # A client of its own for each IAMAT: two reports of one client, a few milliseconds apart,
    # are a record changed twice, and a herd that passes on any record that differs from the
    # one it holds sends the two versions round the herd for ever. Started here, that storm
    # slowed every probe and spent half the run's budget before flood-storm, the check that
    # looks for it first, had run (a student herd).
    clients: list[bytes] = []

    def iamat() -> bytes:
        clients.append(_client(target))
        return b"IAMAT %s %s %.9f\n" % (clients[-1], location, time.time())

    iamat_probe = probe_command(target, name, iamat, whatsat=False, transcript=transcript, second=True)
    client = _reported_client(iamat_probe, clients)
    iamat_framing = iamat_probe.framing()
    # The bound that shows a record without Places (0), else one that needs Places (1); once a
    # framing is known, whether Places work is one more exchange in it.
    # A herd that answers IAMAT only after the client's half-close (read to EOF) does the same
    # with WHATSAT: waiting out a kept-open WHATSAT too would only cost the timeout again.
    read_to_eof = iamat_probe.half_close_answered and not iamat_probe.kept_open_answered
    probe_whatsat = partial(
        probe_command, target, name, whatsat=True, transcript=transcript, kept_open=not read_to_eof
    )
    lookup_bound: int | None = None
    # The fixture's log of the WHATSATs' Places requests (issue 11): a herd that asks Places and
    # then answers nothing has a WHATSAT defect (whatsat-reply), not an unreachable Places.
    fixture = target.fixture
    logged_before = len(fixture.requests()) if fixture is not None else 0
    if iamat_framing is None:
        # No record could be stored: WHATSAT would only wait out the timeout, four times.
        whatsat_probe = CommandProbe()
    else:
        whatsat_probe, lookup_bound = probe_whatsat(partial(_whatsat, client, 0)), 0
        if _refused(whatsat_probe) and _record_came_late(target, name, client, iamat_framing, transcript):
            # Refused, then held: the record came after the IAMAT's reply (STATE-1,
            # origin-holds-record's). Probed again, the framing is judged on the record.
            whatsat_probe = probe_whatsat(partial(_whatsat, client, 0))
        if whatsat_probe.framing() is None:
            whatsat_probe = probe_whatsat(partial(_whatsat, client, 1))
            lookup_bound = 1 if whatsat_probe.framing() is not None else None
    whatsat_framing = whatsat_probe.framing()
    places_work = lookup_bound == 1
    places_lost = False
    cut = b""
    kept_open = None
    if whatsat_framing is not None and whatsat_framing.half_close and whatsat_probe.kept_open_answered:
        kept_open = CommandFraming(
            half_close=False,
            server_closes=whatsat_probe.kept_open_closed,
            terminator=whatsat_framing.terminator,
        )
        if _cut_on_half_close(
            whatsat_probe.half_close_reply, whatsat_probe.half_close_closed, whatsat_probe.kept_open_reply
        ):
            # The JSON is lost on half-close (FRAME-4); kept open, the WHATSAT checks still
            # judge the herd's whole answers.
            places_lost, cut = True, whatsat_probe.half_close_reply
            whatsat_framing = kept_open
    if lookup_bound == 0 and whatsat_framing is not None:
        answer = _answer(target, name, _whatsat(client, 1), whatsat_framing, transcript)
        places_work = _shows_record(answer.data)
        lone = whatsat_framing.half_close and answer.closed and _lone_at_line(answer.data)
        if (not places_work or lone) and whatsat_framing.half_close and kept_open is not None:
            # Bound 0 is answered at once; a WHATSAT that waits for Places may be lost (or cut
            # after its AT line) when the client's EOF arrives first (FRAME-4). Kept open, it
            # shows whether Places work.
            kept = _answer(target, name, _whatsat(client, 1), kept_open, transcript).data
            if _shows_record(kept) and (not lone or _cut_on_half_close(answer.data, True, kept)):
                places_work = places_lost = True
                cut = answer.data if lone else b""
                whatsat_framing = kept_open
    dialect = Dialect(
        iamat=iamat_framing or CommandFraming(),
        whatsat=whatsat_framing or iamat_framing or CommandFraming(),
        iamat_answered=iamat_framing is not None,
        whatsat_answered=whatsat_framing is not None,
        places_reply_lost_on_half_close=places_lost,
        places_reply_cut_on_half_close=cut,
        # One command per connection: closed after the first reply, or (read to EOF) answered
        # only once the client half-closed.
        single_shot=(iamat_probe.kept_open_answered and iamat_probe.kept_open_closed) or read_to_eof,
        read_to_eof=read_to_eof,
        first_command_only=iamat_probe.first_command_only,
        sends_crlf=target.dialect.sends_crlf,  # probed as the lines were written
        greetings=target.dialect.greetings,  # read past as the replies were read
    )
    target.lookup_bound = lookup_bound if dialect.iamat_answered else None
    target.places_work = places_work
    places_requests = (
        tuple(fixture.requests()[logged_before:])
        if fixture is not None and iamat_framing is not None
        else None
    )
    target.dialect_probes = DialectProbes(iamat_probe, whatsat_probe, transcript, places_requests)
    return dialect, iamat_probe, whatsat_probe


def greeting_of(target: Target, name: str, transcript: Transcript | None) -> bytes:
    """The line ``name`` writes on a new connection before any command is sent (a Twisted
    ``connectionMade`` greeting), with its line end; b"" when none comes in _GREETING_WAIT_S."""
    address = target.config.address(name)
    deadline = time.monotonic() + _GREETING_WAIT_S
    try:
        with LineSession(
            address.host, address.port, timeout_s=_GREETING_WAIT_S, transcript=transcript, server=name
        ) as session:
            while b"\n" not in session.buffer and session.read_more(deadline):
                pass
            first, newline, _ = session.buffer.partition(b"\n")
    except OSError:
        return b""
    if transcript is not None:
        got = f"{first + newline!r} within" if newline else "no line in"
        transcript.note(f"{name}: a connection on which nothing was sent got {got} {_GREETING_WAIT_S:g} s")
    return first + newline if newline else b""


def dialect_probes(target: Target, *, transcript: Transcript) -> DialectProbes:
    """The dialect step's probes, shown in ``transcript``: the ones it kept when it ran, else
    fresh ones (a check run alone, e.g. with --only)."""
    if target.dialect_probes is None:
        probe_dialect(target, transcript=transcript)
        assert target.dialect_probes is not None
        return target.dialect_probes
    transcript.note("judged on the dialect step's probes:")
    transcript.entries.extend(target.dialect_probes.transcript.entries)
    return target.dialect_probes
