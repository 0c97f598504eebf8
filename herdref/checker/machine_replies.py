"""How the stateful run judges one reply: the shared model's strict verdict, re-judged by the
lenient profile (SPEC 1.1), and the exception that ends an example at a violation."""

from __future__ import annotations

from fractions import Fraction

from herdref.model import Violation, expected_time_diff
from herdref.model.judge import echo_numerically_equal, parse_at_line, split_line, time_diff_value

__all__ = ["HerdViolation", "lenient_iamat_violations", "raise_violations"]


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


def raise_violations(violations: list[Violation]) -> None:
    if violations:
        raise HerdViolation(violations)
