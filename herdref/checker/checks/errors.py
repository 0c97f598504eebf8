"""Invalid lines and the '?' reply (SPEC section 7, ERR; LEX-4..6, WHATSAT-2..4 refusals)."""

from __future__ import annotations

import re
from typing import Final

from herdref.checker.checks.at_lines import at_reply
from herdref.checker.checks.helpers import (
    alive_after,
    error_for,
    expect_error,
    goes_on_after,
    invalid_lines,
    named_together,
    refusal_failure,
    reported,
    send_invalid,
)
from herdref.checker.checks.registry import CheckBlocked, CheckFailed, check
from herdref.checker.target import CheckContext
from herdref.model.judge import (
    looks_like_at,
)

#: What a refusal check needs: the dialect step only. It judges '?' replies, not AT lines,
#: so a malformed AT reply (at-reply-format, AT-1) does not keep its defects from being found.
REFUSALS: Final = ("dialect",)


# ---- invalid lines -------------------------------------------------------------------------

#: What the refusal checks of one kind of invalid line need: the dialect step, and error-reply
#: judged before them. A herd that answers no invalid line '?' is named once, by error-reply
#: (ERR-1); each of them is then BLOCKED by it at the first line that gets no '?' either
#: (helpers.no_error_reply_or), but still fails a line the herd takes as valid (an AT line for
#: an IAMAT with five fields, Places results for radius 51): that defect is another.
ONE_KIND_OF_INVALID_LINE: Final = REFUSALS


@check(
    "error-reply",
    "ERR-1",
    "MUST",
    "some invalid line gets a '?' reply (the checks of each kind of invalid line need it)",
    requires=REFUSALS,
)
def error_reply(context: CheckContext) -> None:
    """ERR-1: an invalid line gets ``?`` (what it copies is error-echo-raw's, ERR-2). One line
    of each kind ERR-3 lists, every one invalid on any reading of the course (an unknown command
    word, too few fields, a time that is no number, an unknown client), each on a connection of
    its own; the first '?' passes. Only a herd that answers none of them fails: then the checks
    of each kind (invalid-command, invalid-time, ...) are BLOCKED by this one, while a herd that
    refuses some kinds and not another still fails that kind's check under its own clause."""
    name = context.target.names[0]
    client, location = context.client_id(), context.location()
    lines = [
        b"HELLO %s" % client,
        b"IAMAT %s %s" % (client, location),
        b"IAMAT %s %s never" % (client, location),
        b"WHATSAT %s 10 5" % context.client_id("nobody"),
    ]
    seen: list[str] = []
    for line in lines:
        payload = line + b"\n"
        reply = send_invalid(context, name, payload)
        failure = refusal_failure(payload, reply, "")
        if failure is None:
            return
        seen.append(f"{line!r}: {failure.seen}")
    example = error_for(lines[0] + b"\n")
    context.learned["no_error_reply"] = (
        f"error-reply: none of {len(lines)} invalid lines of different kinds got a '?' reply (ERR-1)"
    )
    raise CheckFailed(
        f"none of {len(lines)} invalid lines of different kinds got a '?' reply",
        expected=f"'? <line>' for at least one of them, e.g. {example!r}",
        seen="; ".join(seen),
    )


@check(
    "invalid-field-count",
    "ERR-3",
    "MUST",
    "IAMAT/WHATSAT/AT with too few or too many fields get '? <line>'",
    requires=ONE_KIND_OF_INVALID_LINE,
)
def invalid_field_count(context: CheckContext) -> None:
    client = context.client_id()
    loc, when = context.location(), context.now_time()
    summary = "wrong field count not answered '? <line>'"
    name = context.target.names[0]
    # Too few fields first: a herd that reads its fields before it counts them fails on every
    # such line, whatever the first word; invalid-command then does not name it again. A line
    # BLOCKED (its wrong answer is another check's defect, e.g. no '?' for any invalid line)
    # does not end the check: a too-long line taken as valid is this check's own defect.
    blocked: CheckBlocked | None = None
    # Each line is judged and each failure named (too few fields taken does not hide too many
    # taken), up to one left unanswered (invalid_lines).
    failures: list[CheckFailed] = []
    for line in (b"IAMAT %s %s" % (client, loc), b"IAMAT", b"WHATSAT %s 10" % client):
        try:
            expect_error(context, name, line + b"\n", f"{summary}: {line!r}")
        except CheckBlocked as why:
            blocked = blocked or why
        except CheckFailed as failure:
            context.learned.setdefault("short_lines_fail", f"{failure.summary} (invalid-field-count)")
            if not goes_on_after(context, name, failure, failures):
                break
    if not any(failure.silent or failure.clause == "ERR-4" for failure in failures):
        try:
            invalid_lines(
                context,
                [b"IAMAT %s %s %s extra" % (client, loc, when), b"WHATSAT %s 10 5 5" % client],
                summary,
            )
        except CheckBlocked as why:
            blocked = blocked or why
        except CheckFailed as failure:
            failures.append(failure)
    if failures:
        raise named_together(failures)
    if blocked is not None:
        # The AT line below would be judged by the same wrong answer again.
        raise blocked
    # A malformed AT line is invalid too (FLOOD-6), whatever format the herd's own links use:
    # a server that indexes the fields of an AT line before counting them drops the connection.
    # FLOOD-6 is strict as a whole (the server-to-server format is the student's own), so this
    # part is strict only; a server that dies of it fails ERR-4 all the same.
    short_at = b"AT %s +0.000000001 %s\n" % (name.encode(), client)
    reply = context.send(name, short_at)
    if not reply.data and reply.closed:
        alive_after(context, name)  # a server that died of it fails ERR-4 (core) here
        raise CheckFailed(
            "an AT line with three fields closed the connection without a reply (ERR-4 for any other "
            "line; an AT line from a client is the herd's own server-to-server format's to handle, "
            "FLOOD-6 Lenient, so strict only)",
            expected=repr(error_for(short_at)),
            seen="nothing; the server closed the connection",
            clause="FLOOD-6",
            strict_part=True,
        )
    expect_error(context, name, short_at, "a malformed AT line not answered '? <line>'", strict_part=True)


@check(
    "invalid-command",
    "LEX-4",
    "MUST",
    "unknown and lower-case command words get '? <line>'",
    requires=ONE_KIND_OF_INVALID_LINE,
)
def invalid_command(context: CheckContext) -> None:
    client = context.client_id()
    loc, when = context.location(), context.now_time()
    # A command word with letters after it, and otherwise a valid command: a herd that
    # matches the word with startswith() or a slice (sophiasharif: 'IAMATX ...' got an AT
    # reply; douglas-hsieh: 'WHATSATX <known client> 10 5' got places) takes it for the
    # command. The WHATSAT variant names a client the server knows, when it answered its
    # IAMAT: for an unknown client even the slice reader says '?'.
    known = context.client_id("known")
    name = context.target.names[0]
    answered = looks_like_at(context.iamat(name, known, loc, when).data)
    lines = [
        b"AS Clark +0.25 %s +12-118 1234" % client,
        b"HELLO",
        b"iamat %s %s %s" % (client, loc, when),
        b"Whatsat %s 10 5" % client,
        b"IAMAT%s" % client,
        b"IAMATX %s %s %s" % (client, loc, when),
        *([b"WHATSATX %s 10 5" % known] if answered else []),
        # A browser or curl pointed at a server's port: the stray client every server meets
        # (auppunda took GET for a command word and closed the connection without a reply).
        b"GET / HTTP/1.1",
    ]
    short: list[tuple[bytes, bytes]] = []  # (a line that failed, the same with four fields, refused)
    for line in lines:
        try:
            expect_error(context, name, line + b"\n", f"not answered '? <line>': {line!r}")
        except CheckFailed:
            padded = _refused_with_four_fields(context, name, line)
            if padded is None:
                raise
            short.append((line, padded))
    alive_after(context, name)
    if short:
        line, padded = short[0]
        raise CheckBlocked(
            "invalid-field-count",
            f"{line!r} ({len(line.split())} field(s)) was not answered '? <line>', but {padded!r} was: "
            "the first word is refused; what fails is a line of too few fields whatever its first "
            f"word, which invalid-field-count named: {context.target.knowledge.short_lines_fail}",
        )


def _refused_with_four_fields(context: CheckContext, name: str, line: bytes) -> bytes | None:
    """``line`` (an unknown command that was not refused right) with fields added up to four,
    where invalid-field-count failed on a line of too few fields and this one has fewer than
    four: the padded line if it gets '? <line>' (the word is refused; the failure is the
    field count's, named there), else None (the word's own failure)."""
    fields = line.split()
    if context.target.knowledge.short_lines_fail is None or len(fields) >= 4:
        return None
    padded = line + b" x" * (4 - len(fields))
    try:
        expect_error(context, name, padded + b"\n", f"not answered '? <line>': {padded!r}")
    except CheckFailed:
        return None
    return padded


@check(
    "extra-field-anywhere",
    "IAMAT-1",
    "MUST",
    "IAMAT and WHATSAT with one extra field at any position get '? <line>'",
    requires=("dialect", "at-reply-format", "invalid-field-count"),
    # It judges '?' replies; the IAMAT before them need only be answered (AT-1 is not its).
    reads_malformed_at=True,
)
def extra_field_anywhere(context: CheckContext) -> None:
    """IAMAT-1 and WHATSAT-1: exactly four fields. One extra field, drawn from the run's seed
    (a time, a location or a word, so that a parser that counts only the fields it reads takes
    it for one), inserted after the command word at every position in turn. A herd that gets
    the count wrong even at the end is invalid-field-count's (ERR-3), which this one needs."""
    name = context.target.names[0]
    client = context.client_id()
    iamat = [b"IAMAT", client, context.location(), context.now_time()]
    at_reply(context, name, client, iamat[2], iamat[3])  # WHATSAT lines below ask for a known client
    whatsat = [b"WHATSAT", client, b"10", b"1"]
    for fields, clause in ((iamat, "IAMAT-1"), (whatsat, "WHATSAT-1")):
        for position, line in context.variation.extra_field_lines(fields):
            where = (
                "at the end"
                if position == len(fields)
                else "right after the command word"
                if position == 1
                else f"after field {position}"
            )
            expect_error(
                context,
                name,
                line + b"\n",
                f"{fields[0].decode()} with a fifth field {where} was not answered '? <line>'",
                clause=clause,
            )
    alive_after(context, name)


@check(
    "invalid-location",
    "LEX-5",
    "MUST",
    "locations that are not ISO 6709 ±lat±long in range get '?'",
    requires=ONE_KIND_OF_INVALID_LINE,
)
def invalid_location(context: CheckContext) -> None:
    # Core: no sign, no longitude, a comma, signs and points without a digit, a digit before the
    # latitude's sign: not ISO 6709 decimal degrees on any reading ('+.-.' passes a student
    # pattern of optional digits, and float() then raises on it; '5+34.1-118.2' passes a pattern
    # searched for, not matched from the start); a doubled sign, and a sign or an altitude after
    # the longitude (a pattern matched from the start but not to the end takes them).
    # Strict: the ranges, nan, digit separators and the count of integer digits (none, or four),
    # which the handout never states (a float()-based parser takes them; SPEC decision A18). Each line has a
    # client of its own: a herd that takes the strict ones would otherwise hold two records of
    # one client with one client time, which a herd that replaces on an equal time swaps
    # between its servers for ever (a storm that outlives the check).
    invalid_lines(
        context,
        [
            b"IAMAT %s %s %s" % (context.client_id(), location, context.now_time())
            for location in (
                b"34.068930-118.445127",
                b"+34.068930",
                b"+34,5-118.2",
                b"+.-.",
                b"5+34.1-118.2",
                b"++34.1-118.2",
                b"+34.1-118.2-",
                b"+34.1-118.2-5.5",
            )
        ],
        "bad location not answered '? <line>'",
        strict_lines=[
            b"IAMAT %s %s %s" % (context.client_id(), location, context.now_time())
            for location in (
                b"+91.0-118.0",
                b"+34.0-181.0",
                b"+nan-118.0",
                b"+.5-.5",
                b"+0034.5-118.5",
                b"+3_4.1-118.2",
            )
        ],
    )


@check(
    "invalid-time",
    "LEX-6",
    "MUST",
    "times that are not POSIX decimal seconds get '?'",
    requires=ONE_KIND_OF_INVALID_LINE,
)
def invalid_time(context: CheckContext) -> None:
    client, loc = context.client_id(), context.location()
    # Core: not a number at all (LEX-6). Strict: what Python's float() and Decimal() take
    # besides digits with an optional fraction (exponent, sign, inf and nan in their spellings,
    # `_`, `.5`, `5.`): the handout leaves the form open (SPEC decision A19), and eight of
    # twelve real course herds validate the time with float() or Decimal(). A herd may take
    # those, but one that then dies on them (nan and inf are no POSIX time: fromtimestamp()
    # and int() raise) leaves the line unanswered, which no profile allows (ERR-4).
    storm = context.target.knowledge.odd_times_flood_forever
    if storm is not None:
        # Each of the strict forms may be taken and start the storm again (FLOOD-2, named): not
        # sent. That the herd took one is known all the same (it flooded it): strict only.
        context.transcript.note(f"the forms the course leaves open are not sent: {storm} (flood-odd-time)")
        context.defer_strict(
            CheckFailed(
                "a client time of a form the course leaves open was taken and flooded (flood-odd-time)",
                expected="'? <line>' for an odd client time (strict profile)",
                seen=storm,
            )
        )
    far = context.target.knowledge.far_time_unanswered
    invalid_lines(
        context,
        # '.' has no digit: a pattern of optional digits takes it, and float() raises on it.
        [b"IAMAT %s %s %s" % (client, loc, when) for when in (b"abc", b"1.2.3", b"12:30", b".")],
        "bad client time not answered '? <line>'",
        # A herd that dies on a valid time past what its date conversion takes (iamat-any-time
        # named it) dies on inf and nan for the same reason: that defect again, not ERR-4's.
        strict_unanswered=None
        if far is None
        else CheckBlocked(
            "iamat-any-time",
            f"an odd client time got no reply at all, as a valid far one did ({far}): the same "
            "conversion of the time fails on both",
        ),
        strict_lines=[
            b"IAMAT %s %s %s" % (client, loc, when)
            for when in (
                ()
                if storm is not None
                else (
                    b"1e9",
                    b"-5",
                    b"inf",
                    b"Infinity",
                    b"nan",
                    b"-nan",
                    b"NaN",
                    b"1_000",
                    b".5",
                    b"5.",
                )
            )
        ],
    )


@check(
    "invalid-radius",
    "WHATSAT-2",
    "MUST",
    "radius outside (0, 50] km or not a number gets '?'",
    requires=ONE_KIND_OF_INVALID_LINE,
)
def invalid_radius(context: CheckContext) -> None:
    # Core: over the stated 50 km (infinity too, on any numeric reading), or not a number.
    # Strict: 0, negative, '+5', '1e1' and nan (float() takes it, and it compares false with
    # both limits), which the handout leaves open (the course's test client sends 0..50; SPEC
    # decision A8); taken or refused, each gets an answer (ERR-4).
    try:
        _invalid_whatsat_fields(
            context,
            # Kinds interleaved (over the limit, no number, a decimal over it): a herd that dies of
            # one kind is started again at most twice, and the next kind is still sent.
            [(radius, b"5") for radius in (b"51", b"abc", b"50.5", b"inf", b"50.01")],
            "bad radius",
            strict=[(radius, b"5") for radius in (b"0", b"0.0", b"-1", b"+5", b"1e1", b"nan")],
        )
    except CheckFailed as failure:
        if failure.unanswered:
            # A radius left without any reply: where limits-edges' valid decimal radius and this
            # check's 50.5 get none either, that is this defect again (knowledge
            # radius_unanswered; limits-edges asks 50.5 itself before it is BLOCKED).
            context.learned["radius_unanswered"] = f"invalid-radius: {failure.summary} ({failure.seen})"
            # Which radii: the summary quotes each line (b'WHATSAT <client> <radius> <bound>'),
            # those of the core lines left without a reply marked so; a strict line left
            # without one is the only line its failure quotes.
            radii = re.findall(r"WHATSAT \S+ (\S+) \S+' \(no reply\)", failure.summary) or re.findall(
                r"WHATSAT \S+ (\S+) \S+'", failure.summary
            )
            decimal = next((radius for radius in radii if "." in radius), None)
            if decimal is not None:
                context.learned["decimal_radius_unanswered"] = (
                    f"invalid-radius: radius {decimal} got no reply at all"
                )
        raise


@check(
    "invalid-bound",
    "WHATSAT-3",
    "MUST",
    "bound outside 0..20 or not an integer gets '?'",
    requires=ONE_KIND_OF_INVALID_LINE,
)
def invalid_bound(context: CheckContext) -> None:
    # Core: over the stated 20 (infinity too), or not a number. Strict: sign, fraction, nan
    # (SPEC decision A8); taken or refused, each gets an answer (ERR-4: int('1.5') and
    # int(float('nan')) raise in a herd that checks the bound with float()).
    _invalid_whatsat_fields(
        context,
        [(b"10", bound) for bound in (b"21", b"x", b"100", b"inf")],
        "bad bound",
        strict=[(b"10", bound) for bound in (b"-1", b"-0", b"+1", b"1.5", b"2.0", b"nan")],
    )


def _invalid_whatsat_fields(
    context: CheckContext,
    radius_and_bound: list[tuple[bytes, bytes]],
    what: str,
    *,
    strict: list[tuple[bytes, bytes]],
) -> None:
    """WHATSAT lines for a client the server knows, so only the bad field can earn the '?'."""
    name = context.target.names[0]
    client = context.client_id()
    reported(context, name, client)
    lines = [b"WHATSAT %s %s %s" % (client, radius, bound) for radius, bound in radius_and_bound]
    strict_lines = [b"WHATSAT %s %s %s" % (client, radius, bound) for radius, bound in strict]
    # A strict line the herd takes goes on to Places: where Places never answers this herd
    # (places_work false), its silence is not the line's doing.
    invalid_lines(
        context,
        lines,
        f"{what} not answered '? <line>'",
        strict_lines=strict_lines,
        unanswered_clause="ERR-4" if context.target.places_work else None,
        revive=lambda: reported(context, name, client),
    )
