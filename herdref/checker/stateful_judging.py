"""How the stateful run (:mod:`herdref.checker.machine`) judges what it saw: a violation stops
an example (HerdViolation); an IAMAT reply the strict judge refused is judged again by the
lenient profile (SPEC 1.1), so that a strict-only difference is a note, not a stop."""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING

from herdref.model import HerdModel, Violation, expected_time_diff
from herdref.model.judge import (
    echo_numerically_equal,
    location_close,
    parse_at_line,
    split_at_fields,
    split_line,
    stored_line_within,
    time_close,
    time_diff_value,
)

if TYPE_CHECKING:
    from herdref.checker.launcher import Launcher

__all__ = [
    "HerdViolation",
    "as_known",
    "died",
    "gone",
    "lenient_iamat_violations",
    "made_up",
    "record_of",
    "require_none",
]


class HerdViolation(AssertionError):
    """The herd broke a property; ``violations`` name the clauses. ``strict_only``: the lenient
    profile accepts what was seen (SPEC 1.1)."""

    def __init__(self, violations: list[Violation], *, strict_only: bool = False) -> None:
        super().__init__("; ".join(str(violation) for violation in violations))
        self.violations = violations
        self.strict_only = strict_only


def lenient_iamat_violations(
    server: str,
    sent: tuple[bytes, bytes, bytes],
    reply: bytes,
    *,
    received_ns: tuple[int, int],
    strict: list[Violation],
) -> tuple[list[Violation], bool]:
    """Re-judge an IAMAT reply that the strict judge refused (``strict``) by the lenient profile.

    Returns the violations to report and whether they are strict-only: when the lenient profile
    accepts the reply (AT-1 lenient: CRLF; IAMAT-5 lenient: client ID exact, location and time
    numerically equal; AT-2 lenient: any number of fractional digits), the deviation is
    strict-only, named IAMAT-5 if the echo differs. ``sent`` is (client ID, location, time).
    """
    client_id, location, client_time = sent
    split = split_line(reply)
    # AT-1 lenient: LF, CRLF, or no terminator before the server closed.
    at = parse_at_line(split[0]) if strict and split is not None else None
    if at is None or (at.server_id, at.client_id) != (server.encode(), client_id):
        return strict, False
    if not echo_numerically_equal((location, client_time), (at.location, at.client_time)):
        return strict, False
    diff = at.time_diff
    value = time_diff_value(diff)
    if value is None:
        return strict, False
    # Lenient: truncated or rounded to any number of digits, so allow one unit of the last one.
    decimals = len(diff.partition(b".")[2])
    slack = Fraction(1, 10**decimals)
    low = expected_time_diff(received_ns[0], client_time) - slack
    high = expected_time_diff(received_ns[1], client_time) + slack
    if not low <= value <= high:
        return strict, False
    if (at.location, at.client_time) != (location, client_time):
        return [Violation("IAMAT-5", f"{_strict_message(strict)} (numerically equal: lenient)")], True
    return strict, True


def _strict_message(violations: list[Violation]) -> str:
    return "; ".join(violation.message for violation in violations)


def require_none(violations: list[Violation]) -> None:
    """Stop the example when the herd broke anything."""
    if violations:
        raise HerdViolation(violations)


def made_up(model: HerdModel, server: str, client_id: bytes, line: bytes) -> bool:
    """Whether ``line``, the AT-shaped answer of ``server`` to a WHATSAT for ``client_id``, is no
    record at all: the server need hold none, no server ever answered the line, and it has
    neither the location nor the client time of any record of the client (what a server answers
    for a client it holds no record of, instead of '?': WHATSAT-4, which unknown-client names),
    so it is not a record from nowhere (FLOOD-4). A server that must hold a record answers with
    it, however rebuilt (WHATSAT-5, whatsat-reply's): that is no "holds nothing" (FLOOD-1)."""
    if line in model.records or model.must_record(server, client_id) is not None:
        return False
    fields = line.split()
    for record in model.records.values():
        at = split_at_fields(record.at_line) if record.client_id == client_id else None
        if at is not None and any(
            field in (at.location, at.client_time)
            or time_close(at.client_time, field)
            or location_close(at.location, field, float_forms=True)
            for field in fields
        ):
            return False
    return True


def gone(
    names: list[str],
    started: Mapping[str, object],
    alive: Callable[[str], bool],
    among: Mapping[str, bool] | None = None,
) -> list[str]:
    """The servers of ``names`` that were started (``started``: name -> its process) and whose
    process no longer runs (``alive``: whether it does); with ``among`` (name -> whether the
    model has it running), only those it has running: a death the run did not cause."""
    return [
        name
        for name in names
        if started.get(name) is not None and not alive(name) and (among is None or among[name])
    ]


def died(launcher: Launcher, name: str) -> Violation:
    """ERR-4 for ``name``, whose process exited though the run did not stop it: how it ended
    and the end of its output (a traceback there says which line killed it)."""
    server = launcher.processes[name]
    status = server.process.returncode
    try:
        how = f"killed by {signal.Signals(-status).name}" if status < 0 else f"exit status {status}"
    except ValueError:
        how = f"killed by signal {-status}"
    tail = launcher.output_tail(name, limit=300).strip()
    output = f"its output ends: {tail!r}" if tail else "no output"
    return Violation("ERR-4", f"{name} died during the stateful run ({how}; {output})")


def record_of(line: bytes | None) -> bytes | None:
    """The record a WHATSAT's first ``line`` shows: the AT line, read up to a body glued to it
    with no LF between, or past words of the herd's own before it (whatsat-reply and flood-all
    judge that form; the model judges which record is held, and took ``...1796491584.123456789{``
    for a record no server answered)."""
    return None if line is None else stored_line_within(line) or line


def as_known(violation: Violation, known_clauses: frozenset[str]) -> Violation:
    """``violation`` under a clause the run's checks already named, when one of those it could
    equally be (``Violation.also``) is: one defect, named once (a server holding an older
    record after newer-by-value named a refused newer one, FLOOD-2, is that defect at work)."""
    if violation.clause in known_clauses:
        return violation
    named = next((clause for clause in violation.also if clause in known_clauses), None)
    return violation if named is None else Violation(named, violation.message)
