"""How a check ends other than by passing: the exceptions a check raises, which the runner
(herdref.checker.runner) grades: a failure FAIL, NON-STRICT or FLAKY; the rest UNSUPPORTED or
BLOCKED, with a spent budget said as such."""

from __future__ import annotations

__all__ = ["BudgetSpent", "CheckBlocked", "CheckFailed", "CheckUnsupported"]


class CheckUnsupported(Exception):
    """The check cannot judge this target (say why)."""


class CheckBlocked(CheckUnsupported):
    """What the check needs to see is spoilt by a defect that another check, ``by``, has
    already failed on (the run learned it from that failure): the check is BLOCKED by it, as
    by a prerequisite, rather than naming the same defect a second time."""

    def __init__(self, by: str, reason: str) -> None:
        super().__init__(f"not judged: {reason}")
        self.by = by


class CheckFailed(AssertionError):
    """The target broke the check's clause (or ``clause``, when given). ``strict_part`` says
    whether what broke binds only in the strict profile, when the clause's tag does not tell
    (see :func:`herdref.checker.grading.is_strict_only`). ``missing``: the servers a record
    never reached, where that is the failure (FLOOD-1). ``unanswered``: nothing at all came back;
    ``silent``: nor did the server close the connection before the reply timeout (a server that
    may be stuck: a check sends it no more lines that would each wait out that timeout).
    Without ``blocks_dependents`` the failure blocks none of the checks that need the check's
    own property: it was found in what the check left behind (a server that died of its
    neighbour's death, or hung: herdref.checker.aftermath; the run restores the herd), or the
    run goes on in a way around it (lines written CR LF to a herd that answers no other).
    ``reproduced``: the check saw the failure happen twice already (a server that died when its
    neighbour was killed, and again when only that neighbour was), so it is not replayed."""

    def __init__(
        self,
        summary: str,
        *,
        expected: str,
        seen: str,
        clause: str | None = None,
        strict_part: bool | None = None,
        missing: tuple[str, ...] = (),
        unanswered: bool = False,
        silent: bool = False,
        blocks_dependents: bool = True,
        reproduced: bool = False,
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.expected = expected
        self.seen = seen
        self.clause = clause
        self.strict_part = strict_part
        self.missing = missing
        self.unanswered = unanswered
        self.silent = silent
        self.blocks_dependents = blocks_dependents
        self.reproduced = reproduced


class BudgetSpent(CheckUnsupported):
    """The check ran out of its time budget before it could judge anything (a herd that never
    answers, never closes or floods forever is judged in seconds, not in hours)."""
