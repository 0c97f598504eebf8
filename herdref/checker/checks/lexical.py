"""Lexical checks (SPEC section 2, LEX)."""

from __future__ import annotations

from typing import Final

from herdref.checker.checks.at_lines import at_reply, carries_client, held_record, is_malformed, plain_answer
from herdref.checker.checks.helpers import expect_error_graded, failure_as, held_soon, show
from herdref.checker.checks.registry import CheckFailed, check
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    carried_report,
    location_close,
    looks_like_at,
    split_at_fields,
    split_line,
    time_close,
)

#: Why an ID check cannot judge a herd whose malformed AT lines (AT-1) leave client IDs out.
_NO_IDS: Final = (
    "the herd's AT replies are malformed (at-reply-format names that, AT-1) and leave the client "
    "ID out, a plain IAMAT's too, so whether"
)


def _id_echo(context: CheckContext, name: str, data: bytes, client: bytes) -> bool | None:
    """Whether the reply ``data`` is an AT line that echoes ``client`` whole (its client ID).
    In a check that reads malformed AT lines (AT-1, at-reply-format's), a malformed one echoes
    it as one of its fields; one without it is compared with a plain IAMAT's: None (cannot be
    told) when that one leaves its client ID out too, False when it does not."""
    split = split_line(data, crlf=False)
    line = split[0] if split is not None else b""
    record = split_at_fields(line)
    if record is not None:
        return record.client_id == client
    if context.malformed_at is None or not looks_like_at(line):
        return False
    if carries_client(line, client):
        return True
    plain, plain_client, _ = plain_answer(context, name)
    return False if carries_client(plain, plain_client) else None


@check(
    "lex-unicode-space",
    "LEX-1",
    "MUST",
    "only SP HT LF VT FF CR separate fields (not U+00A0, U+0085, 0x1C)",
    # The handout says only "white space"; Python's str.split() takes these octets for it, so
    # keeping them in a client ID is herdref's reading (SPEC decision A17): strict.
    strict_part=True,
    # A herd that refuses any octet but letters, digits and dots in an ID is named once, there.
    requires=("dialect", "at-reply-format", "lex-id-punctuation"),
    # What it judges is the client ID's echo, a field a malformed AT line (AT-1) may still hold.
    reads_malformed_at=True,
)
def lex_unicode_space(context: CheckContext) -> None:
    name = context.target.names[0]
    unread: list[bytes] = []
    for separator in (b"\xc2\xa0", b"\xc2\x85", b"\x1c", b"\xe2\x80\x83"):
        client = context.client_id() + separator + b"x"
        location, client_time = context.location(), context.now_time()
        reply = context.iamat(name, client, location, client_time)
        echo = _id_echo(context, name, reply.data, client)
        if echo is None:
            unread.append(separator)
        elif not echo:
            raise CheckFailed(
                f"the octets {separator!r} inside a client ID were taken for white space",
                expected=f"AT {name} <diff> {client!r} ...",
                seen=show(reply.received),
            )
    if unread:
        raise CheckUnsupported(
            f"{_NO_IDS} the octets {b''.join(unread)!r} inside a client ID are taken for white space "
            "cannot be seen"
        )


#: Printable ASCII other than letters, digits and dots, the octets a pattern such as ``[\w.]+``
#: for client IDs refuses: each goes into a client ID of its own.
_ID_PUNCTUATION: Final = tuple(
    bytes([octet]) for octet in range(0x21, 0x7F) if not chr(octet).isalnum() and octet != 0x2E
)


@check(
    "lex-id-punctuation",
    "LEX-2",
    "MUST",
    "client IDs hold any printable ASCII: '-', '_', ':', '?', '+' and the rest are echoed",
    # "A client ID is any non-empty run of non-white-space characters" (the handout): core.
    strict_part=False,
    # What it judges is the client ID's echo, a field a malformed AT line (AT-1) may still hold.
    reads_malformed_at=True,
)
def lex_id_punctuation(context: CheckContext) -> None:
    name = context.target.names[0]
    # Several octets per IAMAT keep the check short; the refused ones are then named one by one.
    refused: list[bytes] = []
    unread: list[bytes] = []  # answered with a malformed AT line that cannot show the ID
    taken: list[tuple[bytes, tuple[bytes, ...]]] = []  # IDs whose IAMAT was answered whole
    for start in range(0, len(_ID_PUNCTUATION), _ID_PUNCTUATION_PER_IAMAT):
        octets = _ID_PUNCTUATION[start : start + _ID_PUNCTUATION_PER_IAMAT]
        client = context.client_id() + b"".join(octets)
        whole = _answered_whole(context, name, client)
        if whole:
            taken.append((client, octets))
        if whole is None:
            unread += octets
        elif not whole:
            for octet in octets:
                alone = _answered_whole(context, name, context.client_id() + b"x" + octet + b"x")
                if alone is None:
                    unread.append(octet)
                elif not alone:
                    refused.append(octet)
    if unread and not refused:
        raise CheckUnsupported(
            f"{_NO_IDS} client IDs holding these octets are echoed cannot be seen: "
            + " ".join(octet.decode() for octet in unread)
        )
    if refused:
        raise CheckFailed(
            "client IDs holding these octets were not answered with an AT line that echoes them: "
            + " ".join(octet.decode() for octet in refused),
            expected="an AT line for any client ID without white space (e.g. kiwi-2_b:c)",
            seen=f"{len(refused)} of {len(_ID_PUNCTUATION)} punctuation octets refused or changed",
        )
    _raise_if_not_found(context, name, taken)
    # Backslash sequences are printable ASCII as well: a herd that decodes lines with
    # 'unicode_escape' (or evaluates them) turns '\\t' into a tab and '\\x41' into 'A', so it
    # echoes another ID than the client's (each octet alone, above, can slip through).
    escaped = context.client_id() + _BACKSLASH_SEQUENCES
    reply = context.iamat(name, escaped, context.location(), context.now_time())
    if _id_echo(context, name, reply.data, escaped) is False:
        raise CheckFailed(
            "a client ID holding backslash sequences was not echoed as sent: the backslashes are "
            "octets of the ID, not escapes",
            expected=f"AT {name} <diff> {escaped.decode()} ...",
            seen=show(reply.received),
        )


_ID_PUNCTUATION_PER_IAMAT: Final = 8
#: Printable ASCII that an escape decoder rewrites: a tab, a newline, 'A' twice, one backslash.
_BACKSLASH_SEQUENCES: Final = rb"-\t\n\x41\u0041\\"


def _raise_if_not_found(
    context: CheckContext, name: str, taken: list[tuple[bytes, tuple[bytes, ...]]]
) -> None:
    """LEX-2 holds for WHATSAT as for IAMAT: a client whose punctuated ID was taken is found
    under it (a student herd matched WHATSAT's client ID with a stricter pattern than IAMAT's,
    so the client got '?' for its own record). Where a plain ID's record is not found either,
    the fault is not the punctuation's and other checks name it."""
    if not taken or context.target.lookup_bound is None or context.target.knowledge.records_unreadable:
        return  # no record can be read here (whatsat-reply's, or no WHATSAT dialect)
    if not _settled(context, name):
        return
    unfound = [octets for client, octets in taken if not _found(context, name, client)]
    alone: dict[bytes, bytes] = {}  # which of those groups' octets the WHATSAT pattern refuses
    for octet in (octet for octets in unfound for octet in octets):
        client = context.client_id() + b"x" + octet + b"x"
        if _answered_whole(context, name, client):
            alone[octet] = client
    if not alone or not _settled(context, name):
        return
    missing = [octet for octet, client in alone.items() if not _found(context, name, client)]
    if missing:
        raise CheckFailed(
            "WHATSAT for client IDs holding these octets did not return their records, though "
            "their IAMATs were answered: " + " ".join(octet.decode() for octet in missing),
            expected="WHATSAT finds a record under any client ID its IAMAT was answered for",
            seen=f"{len(missing)} of {len(_ID_PUNCTUATION)} punctuation octets not found by WHATSAT",
        )


def _settled(context: CheckContext, name: str) -> bool:
    """Whether a plain client ID reported after the IAMATs before it is found by WHATSAT within
    the propagation time (a server that keeps its own record only once a neighbour sends it
    back holds those earlier ones by then too); if not, records are not for this check to read."""
    plain = context.client_id() + b"x"
    return (
        bool(_answered_whole(context, name, plain))
        and held_soon(context, name, plain)
        and _found(context, name, plain)
    )


def _found(context: CheckContext, name: str, client: bytes) -> bool:
    """Whether ``name`` answers a WHATSAT for ``client`` with that client's record (read by its
    fields in a malformed AT line, AT-1). A line of another shape (a herd that rewrites ':' as
    ' :' in its whole reply: places-passthrough's and whatsat-reply's to name) counts as found,
    noted: it is an answer for the client, just not one this check can read."""
    held = context.stored_line(name, client, silence_is_none=True)
    if held is None:
        return False
    if context.malformed_at is not None and is_malformed(held):
        return carries_client(held, client)
    if split_at_fields(held) is None:
        context.transcript.note(f"{held!r} is no AT line of AT-1's shape: its form is not this check's")
        return True
    record = held_record(name, held)
    return record is not None and record.client_id == client


def _answered_whole(context: CheckContext, name: str, client: bytes) -> bool | None:
    """Whether an IAMAT from ``client`` gets an AT line that echoes the ID unchanged (None:
    cannot be told, see :func:`_id_echo`)."""
    reply = context.iamat(name, client, context.location(), context.now_time())
    return _id_echo(context, name, reply.data, client)


@check(
    "lex-octets",
    "LEX-2",
    "MUST",
    "client IDs are octets: invalid UTF-8 is echoed byte for byte",
    # The handout names no encoding and all its examples are ASCII (protocol notes, Encoding):
    # octets that are not UTF-8 are herdref's reading, strict only. A server that dies on them
    # still fails ERR-4 in every profile.
    strict_part=True,
    requires=("dialect", "at-reply-format", "lex-id-punctuation"),
    # The ID's echo, and the record WHATSAT finds under it, read in malformed AT lines (AT-1)
    # by the client ID, location and client time their fields carry.
    reads_malformed_at=True,
)
def lex_octets(context: CheckContext) -> None:
    name = context.target.names[0]
    client = context.client_id() + b"\xff\xfe\x80"
    report = (context.location(), context.now_time())
    # No AT reply here is this clause's defect (a herd that decodes the line as UTF-8), not
    # IAMAT-4's: the IAMAT differs from every other one only in those octets.
    with failure_as(
        f"{name} did not answer a valid IAMAT whose client ID holds octets that are not UTF-8",
        clause="LEX-2",
        only="IAMAT-4",
    ):
        line = at_reply(context, name, client, *report)
    echo = _id_echo(context, name, line, client)
    if echo is False:
        raise CheckFailed(
            "the client ID was not echoed byte for byte", expected=repr(client), seen=repr(line)
        )
    # The record is found under those octets; the rest of the held line is WHATSAT-5's.
    held = context.stored_line(name, client)
    if held is not None and context.malformed_at is not None and is_malformed(held):
        # A malformed line (AT-1, at-reply-format's): the record it carries, by its fields.
        if not (carries_client(held, client) or carried_report(held, [report]) == 0):
            raise CheckUnsupported(
                f"{name} answers WHATSAT for the client with {held!r}, a malformed AT line in which "
                "neither the client ID nor the location and client time sent can be found, so "
                "whether its record was found cannot be told"
            )
    else:
        record = held_record(name, held)
        if record is None or record.client_id != client:
            raise CheckFailed(
                "WHATSAT for a client ID with non-UTF-8 octets did not return its record",
                expected=repr(line),
                seen=show(held),
            )
    if echo is None and not (held is not None and carries_client(held, client)):
        raise CheckUnsupported(
            f"{_NO_IDS} the client ID is echoed byte for byte cannot be seen (nor in the WHATSAT reply)"
        )
    # An invalid line with such octets still gets its '?' (this check's, so that a decode()
    # that raises is named once, here, and not again by error-echo-raw).
    bad = b"HELLO\x00 \xff\xfe world"
    expect_error_graded(
        context,
        name,
        bad + b"\n",
        f"an invalid line with octets that are not UTF-8: {bad!r}",
        copy=False,  # what the '?' copies is error-echo-raw's business
    )


@check(
    "lex-extra-space",
    "LEX-3",
    "MUST",
    "leading, trailing and repeated white space is accepted",
    # Not at-reply-format: a line refused for its white space while the same line written
    # plainly is answered is LEX-3's whatever the AT reply looks like (a herd that repeats the
    # IAMAT in its reply may also refuse a leading space); each case is compared with that.
    requires=("dialect",),
)
def lex_extra_space(context: CheckContext) -> None:
    name = context.target.names[0]
    unread: list[bytes] = []
    for spaced, strict in ((_fixed_spacing, False), (_drawn_spacing, False), (_inner_cr, True)):
        client, location, client_time = context.client_id(), context.location(), context.now_time()
        line = spaced(context, [b"IAMAT", client, location, client_time])
        reply = context.send(name, line + b"\n")
        # A CR kept at the end of a CRLF line comes back as a CRLF reply: frame-crlf names that
        # (FRAME-1 strict; lenient AT-1 reads CRLF as a terminator), so it is one here.
        split = split_line(reply.data, crlf=line.endswith(b"\r"))
        record = split_at_fields(split[0]) if split is not None else None
        if (
            record is not None
            and record.client_id == client
            and location_close(location, record.location)
            and time_close(client_time, record.client_time)
        ):
            continue
        if record is None and not _plain_reply_is_read(context, name, location, client_time):
            # The same IAMAT written plainly gets no AT line that can be read either.
            if not looks_like_at(reply.data):
                raise CheckFailed(
                    f"an IAMAT with extra white space was not accepted: {line!r} (written plainly, "
                    "it gets an AT reply, a malformed one: at-reply-format's)",
                    expected=f"an AT line for {client.decode()}, as the line written plainly gets",
                    seen=show(reply.received),
                    strict_part=True if strict else None,
                )
            unread.append(line)
            continue
        first = split[0] if split is not None else reply.data
        respaced = split_at_fields(b" ".join(first.split()))
        if (
            respaced is not None
            and respaced.client_id == client
            and location_close(location, respaced.location)
            and time_close(client_time, respaced.client_time)
        ):
            # Taken as the same command, but the reply is built from the raw line (a student
            # herd replaced the word IAMAT and kept the rest): its fields are joined by the
            # client's white space, not single spaces (AT-1).
            raise CheckFailed(
                f"an IAMAT with extra white space was accepted, but its AT reply keeps that white "
                f"space between its fields: {line!r}",
                expected=f"AT {name} <diff> {client.decode()} {location.decode()} {client_time.decode()}",
                seen=show(reply.received),
                clause="AT-1",
                strict_part=True if strict else None,
            )
        raise CheckFailed(
            f"an IAMAT with extra white space was not accepted as the same command: {line!r}"
            + (" (a CR inside the line is white space, not a line end)" if strict else ""),
            expected=f"AT {name} <diff> {client.decode()} {location.decode()} {client_time.decode()}",
            seen=show(reply.received),
            strict_part=True if strict else None,
        )
    if unread:
        raise CheckUnsupported(
            f"{len(unread)} IAMAT(s) with extra white space got AT replies that cannot be read, as "
            "the same lines written plainly do (at-reply-format judges them), so whether they "
            "were taken as the same command cannot be seen"
        )


def _plain_reply_is_read(context: CheckContext, name: str, location: bytes, client_time: bytes) -> bool:
    """Whether the IAMAT written with single spaces gets an AT line that can be read; raises
    CheckUnsupported when it gets no AT line at all (the IAMAT checks judge that)."""
    client = context.client_id()
    reply = context.send(name, b"IAMAT %s %s %s\n" % (client, location, client_time))
    split = split_line(reply.data, crlf=False)
    if split is not None and split_at_fields(split[0]) is not None:
        return True
    if not looks_like_at(reply.data):
        raise CheckUnsupported(
            f"an IAMAT written plainly got {show(reply.received) if reply.data else 'no reply'}, not "
            "an AT line (the IAMAT checks judge that), so how extra white space is taken cannot be seen"
        )
    return False


def _fixed_spacing(context: CheckContext, fields: list[bytes]) -> bytes:
    command, client, location, client_time = fields
    return b"  %s \t%s   %s\x0b%s \t " % (command, client, location, client_time)


def _drawn_spacing(context: CheckContext, fields: list[bytes]) -> bytes:
    """Fields joined by one to four of SP, HT, VT and FF each, drawn from the run's seed, with
    white space before and after (LEX-1, LEX-3); a CR only at the end, before the LF (FRAME-1)."""
    separator = context.variation.separator
    spaced = fields[0] + b"".join(separator(cr=False) + field for field in fields[1:])
    return separator(cr=False) + spaced + separator()


def _inner_cr(context: CheckContext, fields: list[bytes]) -> bytes:
    """A CR between two fields (LEX-1 makes it white space; only LF ends a line, FRAME-1).
    Readers that split lines on CR too (``splitlines()``, text-mode streams) take it for a line
    end, a reading the course never rules out: refusing it is a strict deviation."""
    command, client, location, client_time = fields
    return b"%s %s %s\r%s" % (command, client, location, client_time)
