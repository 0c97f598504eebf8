"""The black-box checks: each one sends real lines over TCP and judges only what a client sees.

Each check names the SPEC.md clause it enforces and that clause's level (MUST or SHOULD). A
check either returns (it passed), raises :class:`CheckFailed` with what was expected and what
was seen (a failure may name a more precise clause than the check's own), or raises
:class:`CheckUnsupported` when the target cannot be checked this way (an attached herd cannot
be killed; Places requests that never reach the fixture cannot be inspected).

Checks that kill, pause or restart servers are ``destructive``: they need the checker to run
the herd (``--launch`` or the reference herd) and leave every server running when they end.

One module per SPEC section; importing this package registers every check in
:data:`CHECKS`, in the order the sections are listed here (the order a run takes).
"""

from __future__ import annotations

from dataclasses import replace

from herdref.checker.checks import (
    blank_lines,
    echo,
    eof_flood,
    error_replies,
    errors,
    flooded_reply,
    flooding,
    framing,
    greeting,
    healed_split,
    iamat,
    interleaving,
    lexical,
    links,
    long_lines,
    newest_wins,
    odd_times,
    own_record,
    places,
    relayed_older,
    split_write,
    time_diff,
    unchanged,
    whatsat,
)
from herdref.checker.checks.registry import CHECKS, Check, CheckBlocked, CheckFailed, Level, select_checks
from herdref.checker.target import CheckUnsupported
from herdref.model.judge import echo_numerically_equal

#: The order a run takes: the sections as SPEC.md lists them, basic properties first.
_SECTION_ORDER = [
    module.__name__
    for module in (
        framing,
        blank_lines,
        greeting,
        split_write,
        interleaving,
        # flood-older-ignored before newer-by-value (iamat): a herd that takes an older record
        # from a neighbour is named there once, and newer-by-value's put-back evidence, the
        # same defect at work, is then BLOCKED by it (relay_takes_older).
        relayed_older,
        iamat,
        own_record,
        echo,
        time_diff,
        lexical,
        long_lines,
        errors,
        error_replies,
        unchanged,
        whatsat,
        places,
        flooding,
        flooded_reply,
        eof_flood,
        newest_wins,
        odd_times,
        links,
        healed_split,
    )
]
CHECKS.sort(key=lambda item: _SECTION_ORDER.index(item.run.__module__))
#: flood-storm runs right after the dialect step, and a storm blocks every later check: records
#: that keep circling make each reply a reply from a herd busy with them, and each check's
#: IAMATs feed the storm (issue 11, a student herd: in section order the run's budget
#: was spent before the loop was looked for).
#: flood-odd-time follows it, before invalid-time sends odd client times (nan) of its own: a
#: herd that floods those for ever is started again without them, and the run learns it.
_EARLY = ("dialect", "flood-storm", "flood-odd-time")
#: whatsat-reply comes next (once at-reply-format has a verdict): every check that reads which
#: record a server holds reads it from a WHATSAT reply, and what whatsat-reply learns of that
#: reply's form (records_unreadable) must be known before the first of them.
_RECORDS_READ_BY = "whatsat-reply"
#: origin-holds-record before it: a server that keeps a record only once a neighbour sends it
#: back answers whatsat-reply's WHATSAT with '?' or the record as the flood's round trip goes;
#: named first (STATE-1), the run learns it (origin_record_missing) and waits for the record.
_RECORDS_HELD_BY = "origin-holds-record"
_AFTER_EARLY = (_RECORDS_HELD_BY, _RECORDS_READ_BY)
CHECKS.sort(
    key=lambda item: (
        _EARLY.index(item.name)
        if item.name in _EARLY
        else len(_EARLY) + (_AFTER_EARLY.index(item.name) if item.name in _AFTER_EARLY else len(_AFTER_EARLY))
    )
)
CHECKS[:] = [
    item if item.name in _EARLY else replace(item, requires=(*item.requires, "flood-storm"))
    for item in CHECKS
]

__all__ = [
    "CHECKS",
    "Check",
    "CheckBlocked",
    "CheckFailed",
    "CheckUnsupported",
    "Level",
    "echo_numerically_equal",
    "select_checks",
]
