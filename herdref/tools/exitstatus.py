"""The exit statuses of every herdref subcommand, in one place (the README lists them)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitStatus"]


class ExitStatus(IntEnum):
    OK = 0
    #: The checked herd broke a MUST (herdref validate), or a command failed at run time.
    FAILURE = 1
    #: Bad command line or herd file.
    USAGE = 2
    #: herdref validate: only SHOULD clauses were broken.
    NON_STRICT = 3
    #: herdref validate: the target never became reachable.
    UNREACHABLE = 4
    #: herdref validate: the checker itself failed (an ERROR verdict), not the herd.
    CHECKER_ERROR = 5
    #: herdref validate: no MUST failed, but the time budget ran out before every MUST check
    #: could judge the herd (SKIPPED or UNSUPPORTED for lack of time): not a clean bill.
    INCOMPLETE = 6
    INTERRUPTED = 130
