"""AT lines as the checks read them: the reply a valid IAMAT must get, its fields, the record a
WHATSAT shows, and a malformed AT line read for the report it carries.

at-reply-format names a malformed AT reply (AT-1) once. A check whose property does not depend
on the line's shape (``Check.reads_malformed_at``: which record a server holds, the sign of
the time difference, the echoed location and time) still judges such a herd: the checker
knows the reports it sent, so it tells which of them a malformed line carries by the line's
fields (:func:`herdref.model.judge.carried_report`, the LEX-5 and LEX-6 forms). A line that
carries none of them, or more than one, cannot be read: the check is UNSUPPORTED with that
reason, never PASS, and no check FAILs because the line is malformed.

What such a check reads: which IAMAT a reply answers (:func:`answered_report`), the client time
a server holds (:func:`held_time`, :func:`wait_for_report`), a client ID the line holds as a
field (:func:`carries_client`; a herd whose lines leave it out is compared with a plain IAMAT's
answer, :func:`plain_answer`, and the check is UNSUPPORTED where neither shows it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from herdref.checker.checks.registry import CheckBlocked, CheckFailed
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.target import BudgetSpent, CheckContext, CheckUnsupported
from herdref.model.judge import carried_fields, carried_report, looks_like_at, split_at_fields, split_line
from herdref.protocol import At

__all__ = [
    "MALFORMED_LINE",
    "answered_report",
    "at_fields",
    "at_reply",
    "carries_client",
    "echoed",
    "held_record",
    "held_report",
    "held_time",
    "is_malformed",
    "plain_answer",
    "require_arrival",
    "unreadable",
    "wait_for_report",
]

#: Where at_reply leaves a malformed AT line that carries its report, for at-reply-format to
#: tell the run (RunKnowledge.malformed_at).
MALFORMED_LINE = "malformed_at_line"


def _show(data: bytes | None) -> str:
    return "nothing" if data is None else repr(data)


def is_malformed(line: bytes) -> bool:
    """Whether the AT line ``line`` (no terminator) lacks AT-1's shape (six fields, single SPs)."""
    return split_at_fields(line) is None


def at_reply(
    context: CheckContext,
    name: str,
    client: bytes,
    location: bytes,
    client_time: bytes,
    *,
    ended_by_eof: bool = False,
) -> bytes:
    """Send an IAMAT that must be accepted; return the AT line (no terminator), read in the
    herd's dialect. No reply, or another reply, fails IAMAT-4; a line that starts like an AT
    line but is not one (AT-1's six fields, single spaces) fails AT-1, except in a check that
    reads malformed AT lines once at-reply-format named them (``context.malformed_at``): there
    the line is returned when it carries the location and client time sent, and the check is
    UNSUPPORTED when it does not (which report it answers cannot be told). ``ended_by_eof``:
    the IAMAT goes without its final LF, ended by the client's half-close (FRAME-2)."""
    repeated = client_time in context.target.sent_times
    if ended_by_eof:
        reply = context.raw(name, b"IAMAT %s %s %s" % (client, location, client_time))
    else:
        reply = context.iamat(name, client, location, client_time)
    split = split_line(reply.data, crlf=False)
    line = split[0] if split is not None else reply.data.partition(b"\n")[0]
    if split is not None and not is_malformed(line):
        return line
    seen = _show(reply.received) + (f" ({reply.error})" if reply.error else "")
    if looks_like_at(reply.data):
        carried = split is not None and carried_report(line, [(location, client_time)]) == 0
        if context.malformed_at is not None:
            if carried:
                return line
            raise CheckUnsupported(
                f"{name} answered a valid IAMAT with {reply.data[:200]!r}, a malformed AT line "
                "(at-reply-format names that, AT-1) in which the location and client time sent "
                "cannot both be found, so what it answers cannot be read"
            )
        if carried:
            context.details[MALFORMED_LINE] = line
        raise CheckFailed(
            f"{name} answered a valid IAMAT with a malformed AT line",
            expected="AT <server> <time-diff> <client> <location> <time>: six fields, single spaces",
            seen=seen,
            clause="AT-1",
        )
    if not reply.data and reply.closed and not ended_by_eof and not repeated:
        kept_open = _answered_kept_open(context, name, b"IAMAT %s %s %s\n" % (client, location, client_time))
        if kept_open is not None:
            return kept_open
    knowledge = context.target.knowledge
    unanswered_repeat = repeated and not reply.data
    if unanswered_repeat:
        if knowledge.repeat_unanswered is not None:
            # IAMAT-4 for a client time seen before, named once by the check that saw it first.
            by = knowledge.learned_by.get("repeat_unanswered", "an earlier check")
            raise CheckBlocked(
                by,
                f"{name} gave no reply to an IAMAT whose client time an earlier IAMAT had carried, "
                f"the defect {by} named (IAMAT-4: {knowledge.repeat_unanswered})",
            )
        context.learned["repeat_unanswered"] = (
            f"{name} left an IAMAT with a client time sent before unanswered"
        )
    raise CheckFailed(
        f"{name} did not answer a valid IAMAT with an AT line"
        + (" (its client time had been sent before, in another IAMAT)" if unanswered_repeat else ""),
        expected=f"b'AT {name} <time-diff> {client.decode(errors='replace')} ...\\n'",
        seen=seen
        if reply.data
        else f"no reply ({'closed' if reply.closed else 'nothing before the deadline'})",
        clause="IAMAT-4",
    )


def _answered_kept_open(context: CheckContext, name: str, line: bytes) -> bytes | None:
    """The AT line ``line`` (an IAMAT the server closed a half-closed connection on, unanswered)
    gets on a kept-open connection, or None. A herd that drops the connection, and a reply not
    yet written, at the client's EOF (a Twisted protocol that is not half-closeable) does so now
    and then, so the dialect step's probes may not have met it: once seen, the run's IAMATs go
    on kept-open connections, so that each check judges its own property, and the loss is
    frame-half-close's to name (FRAME-4; Dialect.iamat_lost_on_half_close)."""
    dialect = context.target.dialect
    if not dialect.iamat.half_close or dialect.single_shot:
        return None
    try:
        with context.session(name) as session:
            session.send(line)
            reply = session.read_reply(request=line)
    except OSError:  # the server is gone: what killed it is for the run to name (ERR-4)
        return None
    if reply is None or not looks_like_at(reply):
        return None
    answer = split_line(reply, crlf=dialect.iamat.terminator == "CRLF")
    at_line = answer[0] if answer is not None else reply.rstrip(b"\r\n")
    context.target.dialect = replace(
        dialect,
        iamat=replace(dialect.iamat, half_close=False, server_closes=False),
        iamat_lost_on_half_close=(
            f"{context.check_name}: {name} closed a half-closed connection without answering "
            f"{line.strip()!r}; sent again on a kept-open connection, it got {at_line!r}"
        ),
    )
    context.transcript.note(
        "the reply was lost at the client's EOF and came on a kept-open connection: from now on "
        "IAMATs go on kept-open connections (frame-half-close names the loss, FRAME-4)"
    )
    return at_line


def at_fields(line: bytes) -> At:
    """The fields of an AT line that :func:`at_reply` returned (its shape already judged)."""
    record = split_at_fields(line)
    assert record is not None, line
    return record


def echoed(line: bytes, location: bytes, client_time: bytes) -> tuple[bytes, bytes]:
    """The location and client time the AT reply ``line`` (from :func:`at_reply`) echoes: its
    fields when it has AT-1's shape, else the fields that carry the ones sent (at_reply
    returns a malformed line only when both are there)."""
    record = split_at_fields(line)
    if record is not None:
        return record.location, record.client_time
    found_location, found_time = carried_fields(line, location, client_time)
    assert found_location is not None and found_time is not None, line
    return found_location, found_time


def answered_report(
    context: CheckContext, line: bytes, sent: Sequence[tuple[bytes, tuple[bytes, bytes]]]
) -> int | None:
    """Which of ``sent`` (each an IAMAT's client ID and its location and client time, the
    client IDs all different) the reply ``line`` (no terminator) answers: a line of AT-1's shape
    by its client ID; in a check that reads malformed AT lines (``context.malformed_at``), a
    malformed one by the report its fields carry (:func:`herdref.model.judge.carried_report`).
    None when it answers none of them, or cannot be read (the caller tells the two apart with
    :func:`unreadable`)."""
    record = split_at_fields(line)
    if record is not None:
        clients = [client for client, _ in sent]
        return clients.index(record.client_id) if record.client_id in clients else None
    if context.malformed_at is None or not looks_like_at(line):
        return None
    return carried_report(line, [report for _, report in sent])


def unreadable(context: CheckContext, line: bytes, reports: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether ``line`` is a malformed AT line, in a check that reads them, that carries none of
    ``reports`` (or more than one): which IAMAT it answers cannot be told, so a check that
    needs to know is UNSUPPORTED rather than FAIL (its shape is at-reply-format's, AT-1)."""
    return (
        context.malformed_at is not None
        and looks_like_at(line)
        and is_malformed(line)
        and carried_report(line, reports) is None
    )


def carries_client(line: bytes, client: bytes) -> bool:
    """Whether the AT-shaped ``line`` echoes ``client`` whole: as its client ID when it has
    AT-1's shape, else as one of its fields (LEX-1 white space between them; a malformed line,
    at-reply-format's, may hold the client ID elsewhere, or not at all)."""
    record = split_at_fields(line)
    if record is not None:
        return record.client_id == client
    return client in line.split()


def plain_answer(context: CheckContext, name: str) -> tuple[bytes, bytes, tuple[bytes, bytes]]:
    """A plain IAMAT to ``name`` (a short client ID, a location and a client time of its own):
    the first line of its reply, the client ID and the report sent. The control with which a
    check compares the malformed AT reply (AT-1, at-reply-format's) to an unusual IAMAT: what
    the herd's malformed lines carry for a plain one, they must carry for that one too."""
    client, report = context.client_id("plain"), (context.location(), context.now_time())
    reply = context.iamat(name, client, *report)
    return reply.data.partition(b"\n")[0], client, report


def held_record(name: str, held: bytes | None) -> At | None:
    """The record in ``held``, the AT line ``name`` answers a WHATSAT with
    (:meth:`CheckContext.stored_line`); None when it answers no AT line at all. A first line
    that starts like an AT line but has not AT-1's shape (six fields, single spaces; e.g. one
    rebuilt at each WHATSAT from the IAMAT command) is no record as stored: the reply does not
    start with the stored AT line, whatsat-reply's defect (WHATSAT-5), and which record the
    server holds cannot be read from it (CheckUnsupported), rather than "no record"."""
    if held is None:
        return None
    record = split_at_fields(held)
    if record is None:
        raise CheckUnsupported(
            f"{name} answers WHATSAT with {held!r}, which is no AT line of AT-1's shape (six fields "
            f"joined by single spaces; {len(held.split())} fields here): not the stored AT line "
            "(whatsat-reply judges that, WHATSAT-5), so which record it holds cannot be seen"
        )
    return record


def held_report(name: str, held: bytes, reports: Mapping[str, tuple[bytes, bytes]]) -> str:
    """Which of ``reports`` (what each is called: its location and client time as sent) the AT
    line ``held`` (what ``name`` answers a WHATSAT with, of any shape) carries; UNSUPPORTED when
    none of them, or more than one, can be told from its fields."""
    kinds = list(reports)
    index = carried_report(held, [reports[kind] for kind in kinds])
    if index is None:
        raise CheckUnsupported(
            f"{name} answers WHATSAT with {held!r}, in which the location and client time of none of "
            f"the reports sent ({', '.join(kinds)}) can be told apart, so which record it holds cannot "
            "be seen"
        )
    return kinds[index]


def held_time(
    context: CheckContext, name: str, held: bytes | None, reports: Sequence[tuple[bytes, bytes]]
) -> bytes | None:
    """The client time of the record in ``held`` (what ``name`` answers a WHATSAT with; None:
    no AT line, no record). A line of AT-1's shape gives its own (:func:`held_record`); in a
    check that reads malformed AT lines, a malformed one gives the client time of the one of
    ``reports`` (each a location and client time sent) that its fields carry, and is
    UNSUPPORTED when none of them, or more than one, can be told."""
    if held is None or context.malformed_at is None or not is_malformed(held):
        record = held_record(name, held)
        return None if record is None else record.client_time
    index = carried_report(held, reports)
    if index is None:
        raise CheckUnsupported(
            f"{name} answers WHATSAT with {held!r}, a malformed AT line (at-reply-format names that, "
            "AT-1) in which the location and client time of exactly one of the reports sent cannot "
            "be found, so which record it holds cannot be seen"
        )
    return reports[index][1]


def wait_for_report(
    context: CheckContext,
    names: Iterable[str],
    client: bytes,
    reports: Sequence[tuple[bytes, bytes]],
    wanted: int,
    *,
    wait_s: float | None = None,
) -> dict[str, int | None]:
    """Wait (``wait_s``, the propagation time unless given) until every server of ``names``
    answers a WHATSAT for ``client`` with a line that carries ``reports[wanted]`` (its location
    and client time, by :func:`herdref.model.judge.carried_report`, whatever the line's shape):
    which of ``reports`` each holds at the end, None where no AT line shows one. The wait of a
    check that compares records by the report they carry, where the AT replies are malformed
    (AT-1)."""
    held: dict[str, int | None] = dict.fromkeys(names)

    def settled() -> bool:
        for name, index in held.items():
            if index != wanted:
                line = context.stored_line(name, client, silence_is_none=True)
                held[name] = None if line is None else carried_report(line, reports)
        return all(index == wanted for index in held.values())

    known = context.target.knowledge.does_not_flood
    if known is not None:
        # flood-all named it (FLOOD-1): a wait for the record to spread cannot end.
        context.transcript.note(f"one look, no wait for the record to spread: {known}")
        settled()
        return held
    wanted_s = context.target.propagation_s if wait_s is None else wait_s
    allowed = context.remaining(wanted_s)
    try:
        wait_until(settled, deadline_s=allowed)
    except DeadlinePassed:
        if allowed < wanted_s:
            raise BudgetSpent(
                f"the check ran out of {context.budget_words()} while waiting for a record to spread"
            ) from None
    return held


def require_arrival(
    context: CheckContext,
    origin: str,
    holders: Iterable[str],
    client: bytes,
    report: tuple[bytes, bytes],
) -> None:
    """FLOOD-1, arrival only, for a record whose AT reply is malformed (AT-1, at-reply-format's):
    every server of ``holders`` answers a WHATSAT for ``client`` with a line that carries the
    ``report`` (its location and client time as sent), within the propagation time. How the
    line is written is not judged: the reply it would be compared with is malformed."""
    names = sorted(set(holders) - {origin})
    if not names:
        return
    held: dict[str, bytes | None] = dict.fromkeys(names)

    def arrived(name: str) -> bool:
        got = held[name]
        return got is not None and carried_report(got, [report]) == 0

    def all_arrived() -> bool:
        for name in names:
            if not arrived(name):
                held[name] = context.stored_line(name, client, silence_is_none=True)
        return all(arrived(name) for name in names)

    known = context.target.knowledge.does_not_flood
    if known is not None:
        # flood-all named it (FLOOD-1): a wait for the record to spread cannot end.
        context.transcript.note(f"one look, no wait for the record to spread: {known}")
        all_arrived()
    else:
        with contextlib.suppress(DeadlinePassed):
            wait_until(all_arrived, deadline_s=context.remaining(context.target.propagation_s))
    missing = [name for name in names if not arrived(name)]
    if missing:
        raise CheckFailed(
            f"the record {origin} received never reached {', '.join(missing)} "
            f"(waited {context.target.propagation_s:g} s)",
            expected=f"{', '.join(missing)} answer WHATSAT with an AT line carrying the location "
            f"{report[0].decode()} and the client time {report[1].decode()}",
            seen="; ".join(
                f"{name}: "
                + (
                    "no record (its answer to WHATSAT is no AT line)"
                    if held[name] is None
                    else repr(held[name])
                )
                for name in missing
            ),
            clause="FLOOD-1",
            missing=tuple(missing),
        )
    context.transcript.note(
        f"the record arrived at {', '.join(names)} (its AT reply is malformed, at-reply-format's: "
        "only arrival is judged, by the location and client time each line carries)"
    )
