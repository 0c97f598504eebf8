"""Run the chosen checks against a target and turn each outcome into a verdict.

Verdicts:

* PASS: the check held.
* FAIL: a MUST clause of the SPEC profile graded against was broken (and broken again on replay).
* NON-STRICT: only a SHOULD clause was broken, or, graded against the lenient profile, only what
  binds in the strict profile (a strict deviation, SPEC 1.1; :mod:`herdref.checker.grading`).
* UNSUPPORTED: the check cannot judge this target (the reason is kept).
* FLAKY: the check failed, then passed when replayed once at once; reported, never hidden. It
  fails the run (unless the caller allows it) only when the failure, had it come back, would have
  been a FAIL: a FLAKY strict-only deviation under the lenient profile, or a FLAKY SHOULD, is a
  warning (:attr:`Outcome.flaky_grade`).
* BLOCKED: a prerequisite of the check (:attr:`Check.requires`) failed, so this check cannot
  judge its own property; the prerequisite is named. Never a failure: the defect is reported
  once, by the prerequisite.
* ERROR: the checker's own fault (an exception inside a check, or the herd could not be brought
  back to running after a check): not a verdict on the herd.
* SKIPPED: not run (left out by the options or the profile, with the reason).

After every check each server that should be up must still accept connections: a server that
died during a check fails that check (the server never dies, whatever it is sent). Destructive
checks leave the herd running: dead servers are restarted and paused ones resumed between checks.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from herdref.checker.aftermath import judged_after, require_all_up
from herdref.checker.checks import Check, CheckBlocked, CheckFailed, CheckUnsupported
from herdref.checker.client import Transcript
from herdref.checker.dialect import probe_dialect
from herdref.checker.grading import (
    BUILTIN_CLAUSE_TAGS,
    ClauseTag,
    SpecProfile,
    failure_verdict,
    is_strict_only,
)
from herdref.checker.knowledge import RunKnowledge
from herdref.checker.launcher import LaunchError, PortBusy
from herdref.checker.target import BudgetSpent, CheckContext, Target

logger = logging.getLogger(__name__)

__all__ = ["DeferredReplay", "Outcome", "Verdict", "replay_deferred", "run_check", "run_checks"]

Verdict = Literal["PASS", "FAIL", "NON-STRICT", "UNSUPPORTED", "FLAKY", "BLOCKED", "ERROR", "SKIPPED"]
#: Verdicts of a prerequisite that block the checks that need it.
BLOCKING: Final = frozenset({"FAIL", "BLOCKED", "ERROR"})


@dataclass(slots=True)
class Outcome:
    check: str
    clause: str
    level: str
    title: str
    verdict: Verdict
    duration_s: float
    summary: str = ""
    expected: str = ""
    seen: str = ""
    transcript: list[str] = field(default_factory=list)
    #: The shrunk sequence of commands that shows the failure (the stateful run fills it).
    minimal: list[str] = field(default_factory=list)
    replay: str = ""
    #: The failure breaks only what the strict profile asks (SPEC 1.1).
    strict_only: bool = False
    #: BLOCKED: the prerequisite check that failed.
    blocked_by: str = ""
    #: The run's or the check's time budget ran out before the check could judge (its SKIPPED
    #: or UNSUPPORTED is about time, not about the herd), or cut the stateful run short.
    budget_spent: bool = False
    #: Whether the failure blocks the checks that need this one (see CheckFailed).
    blocks_dependents: bool = True
    #: FLAKY: the verdict the failure would have had if its replay had failed too (FAIL or
    #: NON-STRICT); empty when it is not known, which the exit status reads as FAIL for a MUST.
    flaky_grade: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict in ("FAIL", "NON-STRICT")


def _attempt(
    target: Target, item: Check, quick_waits: frozenset[int] = frozenset()
) -> tuple[CheckContext, BaseException | None]:
    context = CheckContext(target, item.name)
    context.quick_waits = quick_waits
    if item.reads_malformed_at:
        context.malformed_at = target.knowledge.malformed_at
    error: BaseException | None = None
    kills_before = len(target.launcher.kill_log) if target.launcher is not None else 0
    # The processes as the check begins: one a check restarts (the whole herd, say) after it
    # died by itself died during the check all the same.
    before = dict(target.launcher.processes) if target.launcher is not None else {}
    ran = False
    try:
        item.run(context)
        ran = True
        require_all_up(context, kills_before, before)
        if context.strict_deviation is not None:
            raise context.strict_deviation
    except CheckFailed as exc:
        error = exc
        try:  # a server that died on the way is part of what the client saw
            if not ran:
                require_all_up(context, kills_before, before)
        except CheckBlocked as known_death:
            error = known_death  # a death named before: what the check saw is its symptom
        except CheckFailed as death:
            if death.clause == "LINK-4":
                # Its neighbour's death killed it: what the check saw after that is the death's.
                death.summary += f"; what the check saw: {exc.summary}"
                error = death
            else:
                exc.summary += f"; {death.summary}"
    except (CheckUnsupported, LaunchError) as exc:
        error = exc
        try:  # a server that died of its neighbour's death may be why the check could not judge
            if not ran and not isinstance(exc, CheckBlocked):
                require_all_up(context, kills_before, before)
        except CheckBlocked as known_death:
            error = known_death
        except CheckFailed as death:
            if death.clause == "LINK-4":
                death.summary += f"; so the check could not judge: {exc}"
                error = death
    except OSError as exc:
        error = CheckFailed(
            f"a socket call failed: {exc}",
            expected="the server accepts connections and answers",
            seen=f"{type(exc).__name__}: {exc}",
        )
    return context, judged_after(context, item.name, error)


def _restore(target: Target) -> None:
    """Bring every server back, within what is left of the run's time budget: past it no
    later check runs on this herd (each is SKIPPED), so a restart would only make the run
    outlast its budget."""
    if target.launcher is None:
        return
    left = target.run_time_left()
    if left <= 0:
        return
    target.launcher.ensure_all_running(
        deadline_s=min(target.startup_s, left), keep_down=target.knowledge.kept_down
    )


def _restore_or_explain(
    target: Target, context: CheckContext | None = None, *, relink: bool = False
) -> str | None:
    """Bring every server back after a check; what went wrong if that failed (a restart that
    the run's budget cut short is no fault: the checks after it are SKIPPED for the budget).

    ``relink``: the check restarted servers of a herd that does not reopen a link to a
    restarted neighbour (``links_not_reopened``, LINK-2, named once): bringing the servers back
    would leave the herd cut in two, and every later check would meet that defect again as a
    record that never arrives. The whole herd is stopped and started again instead, so that
    its links are new, as when the run began."""
    try:
        if relink and target.launcher is not None and target.run_time_left() > 0:
            _restart_from_scratch(target, why="a restarted server's links are not reopened (LINK-2)")
            if context is not None:
                context.transcript.note(
                    "after this check the herd was stopped and started again from scratch: it does "
                    "not reopen a link to a restarted neighbour (LINK-2), and the checks after this "
                    "one start from a whole herd"
                )
        else:
            _restore(target)
    except LaunchError as exc:
        if target.run_time_left() <= 0:
            return None
        try:
            # A server that runs but no longer accepts connections (a herd melting down in its
            # own flood storm: out of file descriptors, its backlog full) cannot be brought back
            # one server at a time: the whole herd is stopped and started again, so that the
            # checks after this one judge it rather than being BLOCKED by an ERROR.
            _restart_from_scratch(target, why=str(exc))
            if context is not None:
                context.transcript.note(
                    f"after this check the herd was stopped and started again from scratch: {exc}"
                )
        except LaunchError as again:
            if target.run_time_left() <= 0:
                return None
            return (
                f"after this check the herd could not be brought back to running: {exc}; stopped and "
                f"started again from scratch: {again}"
            )
    return None


def _restart_from_scratch(target: Target, *, why: str) -> None:
    """Stop every server and start the herd again, within what is left of the run's budget."""
    launcher = target.launcher
    if launcher is None:
        raise LaunchError(why, name="")
    logger.info("restarting the whole herd: %s", why)
    launcher.stop_all()
    try:
        launcher.start_all(deadline_s=min(target.startup_s, max(0.0, target.run_time_left())))
    except PortBusy as exc:
        raise LaunchError(str(exc), name="") from None
    for name in target.knowledge.kept_down:
        launcher.kill(name)


def _error_outcome(item: Check, started: float, summary: str, transcript: list[str]) -> Outcome:
    return Outcome(
        item.name,
        item.clause,
        item.level,
        item.title,
        "ERROR",
        time.monotonic() - started,
        summary=summary,
        transcript=transcript,
    )


def blocked_by(
    item: Check, verdicts: Mapping[str, Outcome], knowledge: RunKnowledge | None = None
) -> Outcome | None:
    """The first prerequisite of ``item`` that failed (or was itself blocked), if any; with
    ``knowledge``, the prerequisites the run's promotions added count too."""
    requires = item.requires if knowledge is None else knowledge.requires(item.name, item.requires)
    for name in requires:
        prerequisite = verdicts.get(name)
        if prerequisite is not None and prerequisite.verdict in BLOCKING:
            if not prerequisite.blocks_dependents:
                continue  # its failure is not the property this one needs (CheckFailed)
            if knowledge is not None and knowledge.judged_alone(
                name, destructive=item.destructive, clause=item.clause
            ):
                continue  # judged on the one server left running (see _run_alone)
            if knowledge is not None and knowledge.read_past(
                name, reads_malformed_at=item.reads_malformed_at
            ):
                continue  # it reads the malformed AT lines for the reports they carry
            return prerequisite
    return None


def _cut_links(target: Target, item: Check, context: CheckContext) -> bool:
    """Whether ``item`` may have left the herd cut in two: it restarts servers (destructive) and
    this herd does not reopen links to a restarted server (known, or just seen by ``context``)."""
    known = target.knowledge.links_not_reopened is not None or "links_not_reopened" in context.learned
    return item.destructive and known


@dataclass
class DeferredReplay:
    """A strict deviation seen once whose replay waits for the end of the run: a replay tells
    only NON-STRICT from FLAKY, and the run's budget goes first to judging every check."""

    item: Check
    outcome: Outcome
    #: The waits of the first attempt that were whole reply timeouts in silence (replayed short).
    quick_waits: frozenset[int]


def run_check(
    target: Target,
    item: Check,
    *,
    replay_command: str = "",
    spec_profile: SpecProfile = "lenient",
    tags: Mapping[str, ClauseTag] = BUILTIN_CLAUSE_TAGS,
    deferred: list[DeferredReplay] | None = None,
) -> Outcome:
    """Run ``item`` once and replay a failure once (FLAKY when the replay passes). With
    ``deferred``, a failure graded NON-STRICT is not replayed now but added there, for
    :func:`replay_deferred` at the end of the run."""
    started = time.monotonic()
    context, error = _attempt(target, item)
    restore_error = _restore_or_explain(target, context, relink=_cut_links(target, item, context))
    if restore_error is not None:
        return _error_outcome(item, started, restore_error, context.transcript.render())
    verdict: Verdict = "PASS"
    strict_only = False
    graded = ""
    replay_later = False
    if isinstance(error, CheckFailed):
        clause = error.clause or item.clause
        strict_part = error.strict_part if error.strict_part is not None else item.strict_part
        # A failure the check itself marks as strict-only is one, whatever clause it names.
        strict_only = error.strict_part is True or is_strict_only(
            clause, tags, own_clause=item.clause, strict_part=strict_part
        )
        graded = failure_verdict(item.level, clause, tags, spec_profile, strict_only=strict_only)
        replay_later = deferred is not None and graded == "NON-STRICT"
        if replay_later or error.reproduced:
            # Replayed later, or already seen twice: a replay would only kill and restart
            # servers again (a death that takes longer than the replay lasts went unseen, and
            # a LINK-4 death seen twice was graded FLAKY, in a loaded run).
            verdict = graded
        else:
            # Replay once: a failure that does not come back is FLAKY, and reported as such.
            # Where the first attempt waited the whole reply timeout in silence on a connection
            # left open, the replay waits less (Target.replay_silence_s): it confirms a silence
            # already shown, and a herd whose handler dies on a line pays one timeout, not two.
            replayed, replay_error = _attempt(target, item, frozenset(context.silent))
            restore_error = _restore_or_explain(target, relink=_cut_links(target, item, replayed))
            if restore_error is not None:
                return _error_outcome(item, started, restore_error, context.transcript.render())
            verdict = "FLAKY" if replay_error is None else graded
    elif isinstance(error, CheckBlocked):
        verdict = "BLOCKED"
    elif isinstance(error, CheckUnsupported):
        verdict = "UNSUPPORTED"
    elif isinstance(error, LaunchError):
        verdict = "FAIL"
    if verdict in ("FAIL", "NON-STRICT"):
        # What the failing attempt learned about the herd spares later checks a wait that
        # cannot succeed (herdref.checker.knowledge); a FLAKY failure teaches nothing.
        target.knowledge.learn(
            context.learned, longest_line_answered=context.longest_line_answered, check=item.name
        )
    outcome = Outcome(
        check=item.name,
        clause=getattr(error, "clause", None) or item.clause,
        level=item.level,
        title=item.title,
        verdict=verdict,
        duration_s=time.monotonic() - started,
        transcript=context.transcript.render(),
        replay=replay_command,
        strict_only=strict_only,
        budget_spent=isinstance(error, BudgetSpent),
        blocks_dependents=not isinstance(error, CheckFailed) or error.blocks_dependents,
        flaky_grade=graded if verdict == "FLAKY" else "",
        blocked_by=error.by if isinstance(error, CheckBlocked) else "",
    )
    if isinstance(error, CheckFailed):
        outcome.summary, outcome.expected, outcome.seen = error.summary, error.expected, error.seen
    elif error is not None:
        outcome.summary = str(error)
    if replay_later and deferred is not None:
        deferred.append(DeferredReplay(item, outcome, frozenset(context.silent)))
    return outcome


def replay_deferred(target: Target, deferred: list[DeferredReplay]) -> None:
    """Replay each strict deviation :func:`run_check` left for the end, while the run's budget
    lasts: one that passes is FLAKY; one the budget leaves unreplayed says so."""
    for replay in deferred:
        outcome = replay.outcome
        if target.run_time_left() <= 0:
            outcome.summary += (
                " (seen once; its replay was left for the end of the run, and the run's budget was spent)"
            )
            continue
        started = time.monotonic()
        replayed, replay_error = _attempt(target, replay.item, replay.quick_waits)
        restore_error = _restore_or_explain(target, relink=_cut_links(target, replay.item, replayed))
        outcome.duration_s += time.monotonic() - started
        if replay_error is None and restore_error is None:
            outcome.flaky_grade, outcome.verdict = outcome.verdict, "FLAKY"


def run_checks(
    target: Target,
    checks: list[Check],
    *,
    on_start: Callable[[Check], None] = lambda item: None,
    on_done: Callable[[Outcome], None] = lambda outcome: None,
    replay_command: Callable[[Check], str] = lambda item: "",
    spec_profile: SpecProfile = "lenient",
    tags: Mapping[str, ClauseTag] = BUILTIN_CLAUSE_TAGS,
    deferred: list[DeferredReplay] | None = None,
) -> list[Outcome]:
    outcomes = []
    by_name: dict[str, Outcome] = {}
    pending = list(checks)
    alone_tried = False
    while pending:
        _take_promotions(target.knowledge, pending)
        item = pending.pop(0)
        on_start(item)
        prerequisite = blocked_by(item, by_name, target.knowledge)
        if target.run_time_left() <= 0:
            outcome = Outcome(
                item.name,
                item.clause,
                item.level,
                item.title,
                "SKIPPED",
                0.0,
                summary="not run: the run's time budget is spent",
                budget_spent=True,
            )
        elif prerequisite is not None:
            outcome = Outcome(
                item.name,
                item.clause,
                item.level,
                item.title,
                "BLOCKED",
                0.0,
                summary=f"not judged: its prerequisite {prerequisite.check} ({prerequisite.clause}) is "
                f"{prerequisite.verdict}",
                blocked_by=prerequisite.check,
            )
        else:
            started = time.monotonic()
            try:
                outcome = run_check(
                    target,
                    item,
                    replay_command=replay_command(item),
                    spec_profile=spec_profile,
                    tags=tags,
                    deferred=deferred,
                )
            except Exception as exc:  # a bug in a check must not hide the other checks' results
                outcome = _error_outcome(
                    item, started, f"checker error: {exc!r}", traceback.format_exc().splitlines()
                )
                restore_error = _restore_or_explain(target)
                if restore_error is not None:
                    outcome.summary += f"; {restore_error}"
        outcomes.append(outcome)
        by_name[item.name] = outcome
        on_done(outcome)
        if target.knowledge.floods_forever is not None and not alone_tried:
            alone_tried = True
            _run_alone(target)
    return outcomes


def _run_alone(target: Target) -> None:
    """After a flood storm (FLOOD-2), keep the first server running alone, restarted without
    the storm's records, and its neighbours stopped, so that no record can circulate: the
    checks that talk to one server are then judged on it instead of being BLOCKED (issue 11:
    a student herd, five defects never looked at). Not done where the checker does
    not run the servers, or one program serves them all."""
    launcher = target.launcher
    if launcher is None or launcher.single_process or len(target.names) < 2:
        return
    left = target.run_time_left()
    if left <= 0:
        return  # no check follows
    alone, others = target.names[0], frozenset(target.names[1:])
    try:
        for name in sorted(others):
            launcher.kill(name)
        # Within what is left of the run: past it no check follows (as in _restore).
        launcher.restart(alone, deadline_s=min(target.startup_s, left))
    except LaunchError:
        return  # the herd could not be set up that way: every check stays BLOCKED
    target.knowledge.alone, target.knowledge.kept_down = alone, others
    _probe_dialect_again(target, alone)


def _probe_dialect_again(target: Target, alone: str) -> None:
    """The dialect step's probes taken again on the server left alone: those taken while the
    storm raged saw replies held up by it (a herd busy with records that never stop circling
    answered a WHATSAT after the reply timeout), and the framing checks that judge them would
    name that as a framing defect. Kept as they were if the server alone answers no IAMAT."""
    transcript = Transcript()
    transcript.note(f"probed again with {alone} running alone, after the flood storm (flood-storm's)")
    previous = (target.dialect, target.dialect_probes, target.lookup_bound, target.places_work)
    found, _, _ = probe_dialect(target, transcript=transcript)
    if found.iamat_answered:
        target.dialect = found
        return
    target.dialect, target.dialect_probes, target.lookup_bound, target.places_work = previous


def _take_promotions(knowledge: RunKnowledge, pending: list[Check]) -> None:
    """Move each check a finished check promoted (:meth:`RunKnowledge.promote`) to the front of
    ``pending``, behind only those of its prerequisites that are still pending and that it was
    not promoted ahead of (a promoted flood-all still waits for at-reply-format, whose AT-1
    verdict it needs to read AT lines, but no longer for flood-no-loop)."""
    while (promotion := knowledge.take_promotion()) is not None:
        promoted = next((item for item in pending if item.name == promotion.check), None)
        if promoted is None:
            continue  # not chosen for this run, or already judged
        pending.remove(promoted)
        needed = set(promoted.requires) - set(promotion.ahead_of)
        position = max((index + 1 for index, item in enumerate(pending) if item.name in needed), default=0)
        pending.insert(position, promoted)
