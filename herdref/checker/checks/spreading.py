"""Waiting for a record to spread, and judging what each server then holds (SPEC section 8:
FLOOD-1, a record reaches every connected server; FLOOD-5, as the same line)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable

from herdref.checker.checks.at_lines import is_malformed, require_arrival
from herdref.checker.checks.helpers import show
from herdref.checker.checks.records import carries_fields, judge_cut, older_record
from herdref.checker.checks.registry import CheckFailed
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.target import CheckContext, CheckUnsupported
from herdref.model.judge import (
    carries_report_of,
    names_answering_server,
    parse_at_line,
    same_record,
    split_at_fields,
)

__all__ = ["require_flood", "require_spread"]


def require_flood(
    context: CheckContext,
    origin: str,
    holders: Iterable[str],
    client: bytes,
    line: bytes,
    *,
    judge_reprints: bool = False,
    judge_lines: bool = True,
) -> None:
    """FLOOD-1/FLOOD-5: every server in ``holders`` answers with ``line`` in time. A record that
    arrived with its numbers re-printed counts as arrived; only with ``judge_reprints`` (the
    one check that names it, flood-all) is that noted as the strict deviation it is. Without
    ``judge_lines`` only arrival is judged: a record that arrived as another line (a relay that
    changes it, FLOOD-5) counts as arrived, for flood-all to name."""
    names = sorted(set(holders) - {origin})
    if not names:
        return
    cut_short = False
    if not judge_lines:
        # Arrival only: any AT line of the client that is not an older record will do (a line
        # WHATSAT rebuilds never equals ``line``: waiting for that would spend the whole
        # propagation time on each link).
        seen = _any_line_of(context, names, client, line)
    else:
        started = time.monotonic()
        seen = context.wait_for_line(names, client, line)
        # Only a wait that ended early (below) leaves servers unasked for the rest of the time.
        cut_short = time.monotonic() - started < context.target.propagation_s
    late = [name for name, got in seen.items() if got is None] if cut_short else []
    if late and any(
        got is not None and not same_record(got, line, any_time_diff=True) for got in seen.values()
    ):
        # The wait ends at the first server that shows another line of this client time (final
        # under FLOOD-2); a server that showed nothing yet may still be about to get the record.
        seen.update(_any_line_of(context, late, client, line))
    judge_cut(context, seen, line, judge_lines=judge_lines)
    # A server that still holds an earlier record of the client has not received this one.
    stale = [name for name, got in seen.items() if got is not None and older_record(got, line)]
    wrong = {name: got for name, got in seen.items() if got is not None and got != line and name not in stale}
    missing = [name for name, got in seen.items() if got is None or name in stale]
    reprinted = {name: got for name, got in wrong.items() if same_record(got, line)}
    if reprinted and len(reprinted) == len(wrong):
        # The record arrived, its numbers re-printed (a float round-trip): FLOOD-5 asks the
        # same octets, which only the strict profile holds a relay to (IAMAT-5 lenient).
        name, got = next(iter(reprinted.items()))
        if not judge_reprints:
            context.transcript.note(f"{name} holds the record re-printed (flood-all names that, FLOOD-5)")
        elif _origin_shows_it_so(context, origin, client, reprinted.values()):
            # The origin's own WHATSAT shows the same octets: WHATSAT re-prints the record it
            # holds (whatsat-reply names that, WHATSAT-5 strict), and the relay kept it as it was.
            context.transcript.note(
                f"{origin}'s own WHATSAT shows the record as {name} does ({got!r}): the re-print is "
                "WHATSAT's (whatsat-reply's, WHATSAT-5), not the flood's"
            )
        else:
            context.defer_strict(
                CheckFailed(
                    f"{name} holds the record {origin} received with its numbers re-printed: relayed AT "
                    "lines must be the same octets on every server",
                    expected=repr(line),
                    seen=repr(got),
                    clause="FLOOD-5",
                )
            )
        wrong = {}
    self_named = sorted(name for name, got in wrong.items() if names_answering_server(got, line, name))
    if self_named:
        # The record arrived; the line shows the answering server's own name where the
        # origin's stands, whether its WHATSAT or its relay wrote it: what a client reads is
        # WHATSAT-5's, named once by whatsat-origin-named.
        context.transcript.note(
            f"{', '.join(self_named)} answer(s) WHATSAT with the record's line naming itself: the record "
            "arrived (whatsat-origin-named names the line, WHATSAT-5)"
        )
        wrong = {name: got for name, got in wrong.items() if name not in self_named}
    same_report = all(same_record(got, line, any_time_diff=True, any_server=True) for got in wrong.values())
    if wrong and (not judge_lines or (same_report and origin not in context.target.names)):
        # Judging only arrival, a server that answers WHATSAT with an AT line of this client
        # (a fresh ID: no earlier record of it exists, and an older one is in ``stale``) holds
        # the record, whatever the line; for a line a client sent (no server's reply to compare
        # with), the same client report under another server ID or time difference did arrive.
        # flood-all names a relay that changes the line (FLOOD-5), whatsat-reply a WHATSAT
        # that rebuilds it (WHATSAT-5).
        # Not a line that carries neither the report's location nor its time: a herd's made-up
        # answer for a client it holds nothing of ('AT X +0 c unknwon 0') is no arrival.
        record = parse_at_line(line)
        missing += sorted(name for name, got in wrong.items() if not carries_report_of(got, record))
        wrong = {name: got for name, got in wrong.items() if carries_report_of(got, record)}
        if wrong:
            context.transcript.note(
                f"{', '.join(sorted(wrong))} answer(s) WHATSAT with another AT line of the client: the "
                "record arrived (the line itself is flood-all's, FLOOD-5, and whatsat-reply's, WHATSAT-5)"
            )
        wrong = {}
    no_record = _no_copies(context, origin, client, line, wrong)
    wrong = {name: got for name, got in wrong.items() if name not in no_record}
    missing += sorted(no_record)
    if wrong and origin in context.target.names:
        try:
            wrong = _judge_against_origin(context, origin, client, line, wrong)
        except CheckUnsupported:
            if not missing:
                raise
            # What the others hold cannot be compared with the origin's record, but some of
            # them hold no record of the client at all in the whole propagation time: FLOOD-1,
            # whatever the lines of the others (a student herd relayed no record further).
            context.transcript.note(
                f"{', '.join(sorted(wrong))} answer(s) WHATSAT with lines that cannot be compared with "
                f"the record; {', '.join(missing)} hold none"
            )
            wrong = {}
    if wrong:
        name, got = next(iter(wrong.items()))
        if not missing and all(b" ".join(other.split()) == line for other in wrong.values()):
            # Only the white space differs (a student herd relayed its line with a trailing
            # space): the run learns it, and the checks that need flooding read the records
            # with their white space squeezed, each judging its own property past this FAIL.
            context.learned["relayed_spacing"] = f"{name} holds {got!r} for {line!r}"
        raise CheckFailed(
            f"{name} holds a different AT line for the record {origin} received: relayed AT lines "
            "must be the same line on every server",
            expected=repr(line),
            seen=repr(got),
            clause="FLOOD-5",
        )
    if missing:
        raise CheckFailed(
            f"the record {origin} received never reached {', '.join(missing)} "
            f"(waited {context.target.propagation_s:g} s)",
            expected=f"{', '.join(missing)} answer WHATSAT with {line!r}",
            seen="; ".join(
                f"{name}: "
                + (
                    f"an older record, {seen[name]!r}"
                    if name in stale
                    else f"no record (it answers {no_record[name]!r})"
                    if name in no_record
                    else "no record"
                )
                for name in missing
            ),
            clause="FLOOD-1",
            missing=tuple(missing),
        )


def _no_copies(
    context: CheckContext, origin: str, client: bytes, line: bytes, wrong: dict[str, bytes]
) -> dict[str, bytes]:
    """The servers of ``wrong`` whose AT-shaped answer carries neither the location nor the
    client time of the record ``line`` while the origin's own answer does: no copy of the
    record, changed or not (e.g. an AT-shaped answer for a client the server holds no record
    of, unknown-client's business, WHATSAT-4), so the record has not reached them (FLOOD-1),
    rather than reached them changed (FLOOD-5)."""
    record = split_at_fields(line)

    def no_copy(got: bytes) -> bool:
        return record is not None and not carries_fields(got, record.location, record.client_time)

    candidates = {name: got for name, got in wrong.items() if no_copy(got)}
    if not candidates or origin not in context.target.names:
        return {}
    held = context.stored_line(origin, client, silence_is_none=True)
    if held is None or no_copy(held):
        return {}  # the origin answers no copy either: what WHATSAT answers is whatsat-reply's
    context.transcript.note(
        f"{', '.join(sorted(candidates))} answer(s) WHATSAT with an AT-shaped line that carries neither "
        "the location nor the client time of the record: no copy of it (the record did not arrive)"
    )
    return candidates


def _origin_shows_it_so(context: CheckContext, origin: str, client: bytes, lines: Iterable[bytes]) -> bool:
    """Whether ``origin``, the server the client reported to, answers WHATSAT with the very
    line every server in ``lines`` shows."""
    shown = set(lines)
    if origin not in context.target.names or len(shown) != 1:
        return False
    return context.stored_line(origin, client, silence_is_none=True) in shown


def _any_line_of(
    context: CheckContext, names: list[str], client: bytes, line: bytes
) -> dict[str, bytes | None]:
    """What each of ``names`` answers WHATSAT with once it shows an AT line of ``client`` that
    is not a record older than ``line`` and carries its location or time (a made-up answer for
    a client a server holds nothing of is none), or when the propagation time (within the
    check's budget) is over."""
    held: dict[str, bytes | None] = dict.fromkeys(names)
    record = parse_at_line(line)

    def holds(got: bytes | None) -> bool:
        return got is not None and not older_record(got, line) and carries_report_of(got, record)

    def all_hold() -> bool:
        for name in names:
            if not holds(held[name]):
                held[name] = context.stored_line(name, client, silence_is_none=True)
        return all(holds(got) for got in held.values())

    with contextlib.suppress(DeadlinePassed):
        wait_until(all_hold, deadline_s=context.remaining(context.target.propagation_s))
    return held


def _judge_against_origin(
    context: CheckContext, origin: str, client: bytes, line: bytes, wrong: dict[str, bytes]
) -> dict[str, bytes]:
    """``wrong`` (server: the other AT line it answers WHATSAT with), as far as it is FLOOD-5's:
    compared with what the origin itself answers. A WHATSAT that rebuilds the line at each
    query (two answers of the origin differ) is WHATSAT-5, whatsat-reply's: the record did
    arrive where the line is the same report. An origin that answers, twice alike, another
    line than its reply stores that line: the record was changed on its way (FLOOD-5)."""
    held = context.stored_line(origin, client)
    if held == line:
        return wrong
    again = context.stored_line(origin, client) if held is not None else None
    if held is not None and again != held and same_record(held, line, any_time_diff=True):
        context.transcript.note(
            f"{origin} itself answers two WHATSATs with two time differences, neither its IAMAT "
            "reply's: the AT line is rebuilt at each WHATSAT (WHATSAT-5, whatsat-reply's business)"
        )
        return {
            name: got
            for name, got in wrong.items()
            if not same_record(got, line, any_time_diff=True, any_server=True)
        }
    if held is not None and same_record(held, line, any_time_diff=True, any_server=True):
        name, got = next(iter(sorted(wrong.items())))
        raise CheckFailed(
            f"{origin} answers WHATSAT, twice alike, with another AT line than its reply to the "
            f"IAMAT, and {name} holds {'that line' if got == held else 'another one'}: the line of "
            "the record changed after the reply (relayed AT lines must be the reply's octets on every "
            "server, the origin included)",
            expected=repr(line),
            seen=f"{origin}: {held!r}; {name}: {got!r}",
            clause="FLOOD-5",
        )
    raise CheckUnsupported(
        f"WHATSAT at {origin} answers {show(held)}, which is not the record {origin} answered the "
        "IAMAT with (whatsat-reply judges that, WHATSAT-5), so what each server holds cannot be "
        "compared with it"
    )


def require_spread(
    context: CheckContext,
    origin: str,
    holders: Iterable[str],
    client: bytes,
    line: bytes,
    *,
    report: tuple[bytes, bytes],
    judge_reprints: bool = False,
    judge_lines: bool = True,
) -> None:
    """:func:`require_flood` for ``line``, the AT reply to the IAMAT of ``report`` (its location
    and client time). A malformed ``line`` (returned only to a check that reads them, AT-1 being
    at-reply-format's) is no line to compare the servers' with: only the record's arrival is
    judged then, by the report each server's line carries (FLOOD-1, require_arrival)."""
    if is_malformed(line):
        require_arrival(context, origin, holders, client, report)
    else:
        require_flood(
            context, origin, holders, client, line, judge_reprints=judge_reprints, judge_lines=judge_lines
        )
