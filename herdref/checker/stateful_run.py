"""One stateful run against a herd: Hypothesis drives the state machine of
:mod:`herdref.checker.machine`, and the outcome says what it found, shrunk and replayed.

A failure is replayed once with the same (derandomized) examples. The replay's own surprises
(Hypothesis finding the steps drawn differently, a budget spent, a checker error) decide only
whether the first failure is FLAKY; none of them escapes as a traceback.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from herdref.checker.grading import BUILTIN_CLAUSE_TAGS, ClauseTag, SpecProfile, failure_verdict
from herdref.checker.machine import HerdViolation, build_machine, no_time_for_a_step
from herdref.checker.runner import Outcome
from herdref.checker.target import BudgetSpent, CheckUnsupported, Target
from herdref.model import Violation

if TYPE_CHECKING:
    from hypothesis import settings as Settings

__all__ = ["PROFILES", "run_stateful"]

#: Examples and steps per example, by validate profile.
PROFILES = {"quick": (12, 15), "full": (30, 25)}

_TITLE = "random IAMAT/WHATSAT/kill/restart/pause sequences judged by the shared model"


def _unjudged(*, sent: int) -> str:
    """Why a stateful run the budget cut before any reply is UNSUPPORTED (never a PASS)."""
    return (
        "not judged: the run's time budget was spent before the stateful run got a reply "
        f"({sent} command(s) sent; raise --budget)"
    )


def _past_budget(target: Target) -> bool:
    """The run's time budget is spent (the stateful run's steps, replays and waits stop)."""
    return target.run_time_left() <= 0


def _violation_in_context(
    error: BaseException, *, until: BaseException | None = None
) -> HerdViolation | None:
    """The HerdViolation ``error`` was raised while handling, if any (its ``__context__`` chain,
    up to ``until``: what was being handled when the run that raised ``error`` began)."""
    seen: set[int] = set()
    context = error.__context__
    while context is not None and context is not until and id(context) not in seen:
        if isinstance(context, HerdViolation):
            return context
        seen.add(id(context))
        context = context.__context__
    return None


def _replay(machine: type[Any], replay: Settings) -> tuple[bool, Exception | None]:
    """Run the examples again without shrinking: whether they failed on the herd again (a
    HerdViolation, raised, grouped or kept behind a Flaky), and what they raised.

    Whatever a replay raises is an answer about the first failure, never a traceback out of
    the run (a Flaky there is Hypothesis seeing the herd's timing draw other steps). A replay
    runs while the first failure is being handled: that one is no evidence of a second.
    """
    from hypothesis.stateful import run_state_machine_as_test

    first_failure = sys.exception()
    try:
        run_state_machine_as_test(machine, settings=replay)  # type: ignore[no-untyped-call,unused-ignore]
    except Exception as exc:
        grouped = getattr(exc, "exceptions", ())
        reproduced = (
            isinstance(exc, HerdViolation)
            or any(isinstance(inner, HerdViolation) for inner in grouped)
            or _violation_in_context(exc, until=first_failure) is not None
        )
        return reproduced, exc
    return False, None


def run_stateful(
    target: Target,
    *,
    profile: str,
    examples: int | None,
    spec_profile: SpecProfile = "lenient",
    tags: Mapping[str, ClauseTag] = BUILTIN_CLAUSE_TAGS,
    known_clauses: frozenset[str] = frozenset(),
) -> Outcome:
    """Run the state machine against ``target``; one Outcome with the shrunk failing steps.

    ``known_clauses`` were already found broken by the checks of this run: the stateful run
    notes violations of them and goes on looking for other defects.

    Examples are derandomized, so a run can be replayed exactly. A failure is replayed once
    (the same examples, without shrinking): if they then pass, or Hypothesis finds that the
    failure does not reproduce, the verdict is FLAKY.
    """
    if no_time_for_a_step(target):
        # No step could be taken: no Hypothesis run (its setup alone takes a second or two).
        return Outcome(
            "stateful",
            "FLOOD-1",
            "MUST",
            _TITLE,
            "UNSUPPORTED",
            0.0,
            summary=_unjudged(sent=0),
            budget_spent=True,
        )

    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.errors import Flaky, Unsatisfiable
    from hypothesis.reporting import with_reporter
    from hypothesis.stateful import run_state_machine_as_test

    from herdref.checker.launcher import LaunchError

    default_examples, steps = PROFILES.get(profile, PROFILES["full"])
    deviations: list[Violation] = []
    # One program serving every server cannot lose one of them: no kill, restart or pause steps.
    faults = target.launcher is not None and not target.launcher.single_process
    machine = build_machine(target, allow_faults=faults, deviations=deviations, known_clauses=known_clauses)
    reported: list[object] = []
    started = time.monotonic()
    options = settings(
        max_examples=examples or default_examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    outcome = Outcome(
        check="stateful",
        clause="FLOOD-1",
        level="MUST",
        title=_TITLE,
        verdict="PASS",
        duration_s=0.0,
    )
    try:
        with with_reporter(reported.append):
            run_state_machine_as_test(machine, settings=options)  # type: ignore[no-untyped-call,unused-ignore]
    except HerdViolation as violation:
        first = violation.violations[0]
        outcome.strict_only = violation.strict_only
        outcome.verdict = failure_verdict(
            "MUST", first.clause, tags, spec_profile, strict_only=violation.strict_only
        )
        outcome.clause = first.clause
        outcome.summary = first.message
        outcome.expected = "; ".join(sorted({v.clause for v in violation.violations}))
        outcome.seen = str(violation)[:2000]
        # Hypothesis attaches the shrunk steps to the exception (older versions report them).
        notes = [str(text) for text in (*reported, *getattr(violation, "__notes__", []))]
        outcome.minimal = [line for text in notes for line in text.splitlines() if line.strip()]
        reproduced, again = _replay(machine, settings(options, phases=[Phase.explicit, Phase.generate]))
        if reproduced:
            pass
        elif again is None or isinstance(again, Flaky):
            # A replay the run's budget cut short did not run the steps: no FLAKY from it.
            if not _past_budget(target):
                outcome.flaky_grade, outcome.verdict = outcome.verdict, "FLAKY"
        elif not isinstance(again, BudgetSpent):
            # The first run's shrunk transcript proves the failure; a replay that could not
            # finish (a restart that did not come back, the checker's own fault) leaves it as is.
            outcome.summary = f"{outcome.summary} (its replay stopped early: {again!r})"[:600]
    except Flaky as exc:
        outcome.verdict = "FLAKY"
        # What failed the first time: kept in an exception group, or the exception Hypothesis
        # was handling when it found the steps drawn differently on a repeat (the herd's
        # timing moved the failure to another step while shrinking).
        kept: object = next(iter(getattr(exc, "exceptions", ())), None) or _violation_in_context(exc)
        if _past_budget(target) and isinstance(kept, (BudgetSpent, LaunchError)):
            # A wait the run's budget cut (or a restart it gave no time to open its port) is
            # no failure of the herd, and its replays, past the budget, ran no steps.
            outcome.verdict, outcome.budget_spent = "PASS", True
        elif not isinstance(kept, HerdViolation) and any(v.clause in known_clauses for v in deviations):
            # The examples ended at a known defect at a different step each time (timing):
            # Hypothesis calls that inconsistent data, not a failure of the herd.
            outcome.verdict = "PASS"
        elif isinstance(kept, HerdViolation):
            first = kept.violations[0]
            outcome.clause = first.clause
            outcome.expected = "; ".join(sorted({v.clause for v in kept.violations}))
            outcome.seen = str(kept)[:2000]
            reproduced, _ = _replay(machine, settings(options, phases=[Phase.explicit, Phase.generate]))
            if reproduced or _past_budget(target):
                # Failed again, or the replay ran no steps because the run's budget was spent
                # (no FLAKY from a replay that did not happen, as above).
                outcome.verdict = failure_verdict(
                    "MUST", first.clause, tags, spec_profile, strict_only=kept.strict_only
                )
                outcome.summary = (
                    f"{first.message} ("
                    + ("failed again on replay" if reproduced else "no replay: the run's budget was spent")
                    + "; not shrunk: the herd's timing moved the failure between steps)"
                )[:600]
            else:
                outcome.summary = f"failed once, then not on replay: {kept}"[:600]
                outcome.strict_only = kept.strict_only
                outcome.flaky_grade = failure_verdict(
                    "MUST", first.clause, tags, spec_profile, strict_only=kept.strict_only
                )
        else:
            outcome.summary = f"a failure did not reproduce: {kept or exc!s}"[:600]
    except Unsatisfiable as exc:
        known_seen = sorted(
            {violation.clause for violation in deviations if violation.clause in known_clauses}
        )
        if known_seen:
            # Every example ended at a defect the checks named (e.g. IAMAT-6: the run's client
            # times are refused), so nothing beyond it could be exercised: no verdict, and why.
            outcome.verdict = "UNSUPPORTED"
            outcome.summary = (
                f"every example ended at a defect the checks named (seen by the model as "
                f"{', '.join(known_seen)}), so the random run could exercise nothing beyond it"
            )
        else:
            outcome.verdict = "ERROR"
            outcome.summary = f"checker error in the stateful run: {exc!r}"
            outcome.transcript = traceback.format_exc().splitlines()
    except BudgetSpent:
        outcome.verdict, outcome.budget_spent = "PASS", True  # reported below as cut short
    except CheckUnsupported as exc:
        outcome.verdict = "UNSUPPORTED"
        outcome.summary = str(exc)
    except LaunchError as exc:
        outcome.verdict = "FAIL"
        outcome.clause = "ERR-4"
        outcome.summary = f"a restarted server did not come back: {exc}"
    except Exception as exc:  # the checker's own fault: reported, never a traceback
        outcome.verdict = "ERROR"
        outcome.summary = f"checker error in the stateful run: {exc!r}"
        outcome.transcript = traceback.format_exc().splitlines()
    strict_deviations = [violation for violation in deviations if violation.clause not in known_clauses]
    known_seen = sorted({violation.clause for violation in deviations if violation.clause in known_clauses})
    if outcome.verdict == "PASS" and known_seen and not strict_deviations:
        named = ", ".join(known_seen)
        outcome.summary = f"no defect beyond those the checks named (seen as {named}; the run went on)"
    if outcome.verdict == "PASS" and strict_deviations:
        # Strict-only differences seen on the way (the run went on past them, SPEC 1.1).
        deviations = strict_deviations
        first = deviations[0]
        outcome.strict_only = True
        outcome.verdict = failure_verdict("MUST", first.clause, tags, spec_profile, strict_only=True)
        outcome.clause = first.clause
        outcome.summary = (
            f"{first.message} (and {len(deviations) - 1} more strict-only difference(s); the run went on)"
        )
        outcome.expected = "; ".join(sorted({violation.clause for violation in deviations}))
        outcome.seen = "; ".join(str(violation) for violation in deviations)[:2000]
    if (outcome.budget_spent or getattr(machine, "budget_notes", None)) and outcome.verdict == "PASS":
        entries = [
            entry for context in getattr(machine, "contexts", ()) for entry in context.transcript.entries
        ]
        sent = sum(entry.direction == "send" for entry in entries)
        replies = sum(entry.direction == "recv" for entry in entries)
        # A run that got no reply saw no evidence: no PASS from it (issue 11, vacuous passes).
        outcome.verdict = "PASS" if replies else "UNSUPPORTED"
        outcome.summary = (
            f"passed the steps it ran ({sent} command(s) sent), then was cut short: the run's time "
            "budget was spent"
            if replies
            else _unjudged(sent=sent)
        )
        outcome.budget_spent = True
    outcome.duration_s = time.monotonic() - started
    return outcome
