"""What the checks share: sending a command that must be answered, judging echoes, waiting for floods."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from herdref.checker.checks.registry import CheckBlocked, CheckFailed
from herdref.checker.client import Exchange
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.launcher import Launcher, LaunchError
from herdref.checker.target import CheckContext, CheckUnsupported, Target
from herdref.model import components
from herdref.model.judge import (
    is_error_reply_for,
    looks_like_at,
)
from herdref.protocol import WHITESPACE, error_reply

SKEW_OFFSET_S: Final = 3600


# ---- helpers -------------------------------------------------------------------------------


def show(data: bytes | None) -> str:
    return "nothing" if data is None else repr(data)


def expect_exact(context: CheckContext, name: str, payload: bytes, expected: bytes, summary: str) -> None:
    reply = context.send(name, payload)
    if reply.data != expected:
        seen = show(reply.received) + (f" ({reply.error})" if reply.error else "")
        raise CheckFailed(summary, expected=repr(expected), seen=seen)


def error_for(line: bytes) -> bytes:
    """ERR-1/ERR-2: ``? `` plus the line minus its LF and one CR before it."""
    return error_reply(line.removesuffix(b"\n"))


def _is_whatsat(payload: bytes) -> bool:
    """A WHATSAT line is sent in the herd's WHATSAT framing (its reply may be a whole answer)."""
    return payload.split(None, 1)[:1] == [b"WHATSAT"]


#: After this many kinds of invalid line were left unanswered for the whole reply timeout, a
#: line of a new kind is waited for only _NEW_KIND_WAIT_S (see send_invalid).
_SILENT_KINDS_FOR_SHORT_WAITS: Final = 2
_NEW_KIND_WAIT_S: Final = 2.0


def send_invalid(
    context: CheckContext, name: str, payload: bytes, *, raw: bool = False, timeout_s: float | None = None
) -> Exchange:
    """``payload``, an invalid line that must be refused, sent as ``context.send`` (or ``raw``)
    would. Where the run saw a line of its kind left unanswered for the whole reply timeout
    (herdref.checker.silent_lines), it is waited for only as long as a replay waits for a
    silence, the transcript saying which check showed the whole silence; a whole silence
    waited out here is recorded for the checks after it."""
    silent_lines = context.target.knowledge.silent_lines
    earlier = silent_lines.seen_silent(payload) if timeout_s is None else None
    if earlier is not None:
        timeout_s = context.target.replay_silence_s
        context.transcript.note(f"{earlier}: this line of that kind is waited for {timeout_s:g} s")
    elif (
        timeout_s is None
        and len(silent_lines.evidence) >= _SILENT_KINDS_FOR_SHORT_WAITS
        and context.target.timeout_s > _NEW_KIND_WAIT_S
    ):
        # A herd that leaves kind after kind of invalid line unanswered (a handler that dies on
        # each) cost a student herd's run most of its budget in whole-timeout waits; a '?' comes
        # at once where it comes at all, so a new kind is waited for less.
        timeout_s = _NEW_KIND_WAIT_S
        context.transcript.note(
            f"a new kind of invalid line is waited for {timeout_s:g} s: {len(silent_lines.evidence)} "
            "kinds of invalid line were left unanswered for the whole reply timeout ("
            + "; ".join(silent_lines.evidence.values())
            + ")"
        )
    if raw:
        reply = context.raw(name, payload, timeout_s=timeout_s)
    else:
        reply = context.send(name, payload, whatsat=_is_whatsat(payload), timeout_s=timeout_s)
    if timeout_s is None and _silent(reply):
        # The whole reply timeout: a wait the check's budget cut short ended in BudgetSpent.
        silent_lines.record(payload, check=context.check_name, waited_s=context.target.timeout_s)
    return reply


def expect_error(
    context: CheckContext,
    name: str,
    payload: bytes,
    summary: str,
    *,
    clause: str | None = None,
    strict_part: bool | None = None,
    unanswered_clause: str | None = None,
) -> None:
    """ERR-1: ``payload`` (one invalid line) is refused: it gets one ``?`` reply. What the
    reply copies is error-echo-raw's business (ERR-1's copy, ERR-2), so that a herd whose
    every '?' copies the line wrong is told so once, not by each check that makes it refuse
    a line. A failure names ``clause``, else the check's own; ``strict_part`` True marks it as
    breaking only what the strict profile asks. With ``unanswered_clause``, no reply at all
    fails that clause in every profile (a line may be left open, its answer may not)."""
    # Where error-reply saw no invalid line of four kinds answered '?' in the whole timeout
    # (no_error_reply), this one is waited for only as long as a replay waits for a silence:
    # silence again is that defect (BLOCKED by it), and four kinds of invalid line each waiting
    # the whole timeout cost a student herd 25 s of its run's budget for BLOCKED verdicts.
    silent = context.target.knowledge.no_error_reply is not None
    wait_s = context.target.replay_silence_s if silent else None
    reply = send_invalid(context, name, payload, timeout_s=wait_s)
    failure = refusal_failure(
        payload,
        reply,
        summary,
        clause=clause,
        strict_part=strict_part,
        unanswered_clause=unanswered_clause,
    )
    if failure is not None:
        raise no_error_reply_or(context, reply, cut_or(context, payload, failure))


def no_error_reply_or(
    context: CheckContext, reply: Exchange, failure: CheckFailed | CheckBlocked
) -> CheckFailed | CheckBlocked:
    """``failure``, or BLOCKED by error-reply where the run knows the herd answers no invalid
    line '?' (knowledge ``no_error_reply``) and this line got no '?' either: the herd's own
    words, or nothing, are that one defect again. An invalid line taken as valid (an AT line,
    Places results) is a defect of its own kind, and fails."""
    known = context.target.knowledge.no_error_reply
    if known is None or isinstance(failure, CheckBlocked) or looks_like_at(reply.data):
        return failure
    return CheckBlocked("error-reply", f"{failure.summary}: {known}")


def cut_or(context: CheckContext, payload: bytes, failure: CheckFailed) -> CheckFailed | CheckBlocked:
    """``failure``, or BLOCKED by long-lines where ``payload`` is longer than any line the herd
    was seen to answer and long-lines failed on a long one: the herd may have judged a cut
    line, a defect long-lines named already (knowledge ``long_lines_fail``)."""
    knowledge = context.target.knowledge
    if not knowledge.line_too_long(payload):
        return failure
    length = len(payload.removesuffix(b"\n").removesuffix(b"\r"))
    return CheckBlocked(
        "long-lines",
        f"{failure.summary}; the line is {length} octets, longer than any "
        f"line long-lines saw answered ({knowledge.longest_line_answered} octets), and long-lines "
        f"failed on a long one ({knowledge.long_lines_fail}): the herd may have judged a cut line",
    )


def refusal_failure(
    payload: bytes,
    reply: Exchange,
    summary: str,
    *,
    clause: str | None = None,
    strict_part: bool | None = None,
    unanswered_clause: str | None = None,
) -> CheckFailed | None:
    """What :func:`expect_error` raises for ``reply`` to ``payload``; None when it is one '?'
    reply (whatever it copies)."""
    first, _, rest = reply.data.partition(b"\n")
    if first.startswith(b"?") and not rest.strip(WHITESPACE):
        return None
    seen = show(reply.received) + (f" ({reply.error})" if reply.error else "")
    if not reply.data:
        seen += " (no reply" + (", the server closed the connection)" if reply.closed else ")")
        if unanswered_clause is not None:
            return CheckFailed(
                f"{summary}: no reply at all",
                expected=repr(error_for(payload)),
                seen=seen,
                clause=unanswered_clause,
                unanswered=True,
                silent=_silent(reply),
            )
    return CheckFailed(
        summary,
        expected=repr(error_for(payload)),
        seen=seen,
        clause=clause,
        strict_part=strict_part,
        unanswered=not reply.data,
        silent=_silent(reply),
    )


def _silent(reply: Exchange) -> bool:
    """Nothing came back, and the connection stayed open until the read's deadline."""
    return not reply.data and not reply.closed and reply.error is None


def goes_on_after(
    context: CheckContext,
    name: str,
    failure: CheckFailed,
    failures: list[CheckFailed],
    *,
    revive: Callable[[], None] | None = None,
) -> bool:
    """Whether a check that judges several lines sends the next one after ``failure`` (kept in
    ``failures``): not after a silence (each line would wait out the reply timeout again); after
    a reply, or a connection closed at once, the next line may show a defect of another kind.
    A server that no longer answers a valid IAMAT fails ERR-4 (kept too); where its process
    exited and the checker runs the herd, it is started again (``revive`` gives it back what
    the lines need, a record) and the next line is judged: a student herd that called
    sys.exit() on radius 51 hid that it also dies on 'abc'. At most _RESTARTS_PER_CHECK times."""
    failures.append(failure)
    if failure.silent:
        return False
    if failure.unanswered:
        try:
            alive_after(context, name)
        except CheckFailed as dead:
            failures.append(dead)
            return start_again_if_exited(context, name, revive)
    return True


#: How long a server that no longer answers is given to exit before it is taken for hung.
_EXIT_WAIT_S: Final = 1.0
#: How many times one check starts a server again that died of its lines (each start costs up
#: to the herd's start-up time; a herd that dies of every line is named by the first deaths).
_RESTARTS_PER_CHECK: Final = 2


def exited(context: CheckContext, name: str) -> bool:
    """Whether ``name``'s process has exited by itself (given a moment to finish exiting: a
    server that closed a connection on its way out is not reaped at once)."""
    launcher = context.launcher
    server = launcher.processes.get(name) if launcher is not None else None
    if launcher is None or server is None or name in launcher.stopped:
        return False
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=_EXIT_WAIT_S)
    return launcher.crashed(name)


def start_again_if_exited(context: CheckContext, name: str, revive: Callable[[], None] | None) -> bool:
    """Whether ``name``, whose process exited, listens again (and is revived) to be sent more."""
    launcher = context.launcher
    restarts = int(context.details.get("restarts_for_lines", 0))
    if launcher is None or restarts >= _RESTARTS_PER_CHECK:
        return False
    server = launcher.processes.get(name)
    if server is not None and name not in launcher.stopped:
        # A server that refuses connections may be exiting still: its exit is waited for.
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.process.wait(timeout=_EXIT_WAIT_S)
    if not launcher.crashed(name):
        return False
    context.details["restarts_for_lines"] = restarts + 1
    # The death is the business of the check of the line it died of, named there; the run
    # does not name it again for this check (herdref.checker.aftermath).
    context.details.setdefault("restarted_after_death", set()).add(name)
    try:
        launcher.restart(name, deadline_s=context.remaining(context.target.startup_s))
    except LaunchError:
        return False
    context.transcript.note(f"{name} exited: started again to judge the lines after this one")
    if revive is not None:
        revive()
    return True


def expect_error_graded(
    context: CheckContext,
    name: str,
    payload: bytes,
    summary: str,
    *,
    raw: bool = False,
    exact: Callable[[bytes], bool] | None = None,
    copy: bool = True,
    unanswered: str | None = None,
) -> None:
    """``payload`` gets ``? <copy>``: no such reply at all fails ERR-1 (every profile); a copy
    with the line's fields but other white space (stripped, re-joined, the line's own LF kept)
    fails ERR-2 (strict only, SPEC 1.1). With ``exact``, only a copy for which it is false
    fails ERR-2: the one white-space difference this check is about. Without ``copy``, any
    '?' reply will do: what it copies is error-echo-raw's business, so that a herd whose '?'
    copies nothing (or the wrong octets) is named once, there. With ``unanswered``, a reply
    that is no '?' at all is UNSUPPORTED with that reason (another check names it)."""
    reply = send_invalid(context, name, payload, raw=raw)
    line = reply.data.removesuffix(b"\n")
    seen = show(reply.received or None) + (f" ({reply.error})" if reply.error else "")
    refused = reply.data.startswith(b"?")
    if unanswered is not None and not refused:
        raise CheckUnsupported(unanswered)  # no '?' at all: another check's defect, named there
    if not copy and refused and (exact is None or exact(line)):
        return
    if not copy and refused:
        raise CheckFailed(summary, expected=repr(error_for(payload)), seen=seen, clause="ERR-2")
    if not is_error_reply_for(payload, line, strict=False):
        if not reply.data.startswith(b"?"):
            refused_when_plain(context, name, payload)
        what = "its '?' reply does not copy the line" if refused else "no '?' reply for it"
        if refused and reply.data[1:2] != b" " and reply.data[1:].strip(WHITESPACE):
            what = "its '?' is not followed by a space ('?', SP, then the copy)"
            if not is_error_reply_for(payload, b"? " + line[1:], strict=False):
                # A second defect in the same reply, named with the first (one hides no other).
                what += ", and what follows it does not copy the line"
        failure = CheckFailed(
            f"{summary}: {what}",
            expected=repr(error_for(payload)),
            seen=seen,
            clause="ERR-1",
            unanswered=not reply.data,
            silent=_silent(reply),
        )
        raise cut_or(context, payload, failure)
    copied_exactly = exact(line) if exact is not None else is_error_reply_for(payload, line, strict=True)
    if not copied_exactly:
        failure = CheckFailed(summary, expected=repr(error_for(payload)), seen=seen, clause="ERR-2")
        raise cut_or(context, payload, failure)


def refused_when_plain(context: CheckContext, name: str, payload: bytes) -> None:
    """UNSUPPORTED when the herd refuses ``payload`` with no '?' even written plainly (single
    spaces, LF): then the missing '?' is not about how the line was written (odd white space,
    CRLF, no final LF) but about refusing it at all, which the invalid-* checks judge
    (invalid-time, invalid-bound, ...); judged here too, one defect would be named twice."""
    plain = b" ".join(payload.split()) + b"\n"
    reply = send_invalid(context, name, plain)
    if not reply.data.startswith(b"?"):
        raise CheckUnsupported(
            f"{plain.strip()!r} gets no '?' even written plainly: refusing it at all is the invalid-* "
            "checks' business, so how the line was written cannot be judged"
        )


def one_command_per_connection(context: CheckContext) -> str | None:
    """Why the run knows that the herd answers no second command on a connection (FRAME-3
    lenient allows one command per connection), or None. A check that needs a second command
    on one connection is then UNSUPPORTED with this reason: it neither waits again for a reply
    that will not come nor fails its own clause for a line that is never read."""
    known = context.target.knowledge.one_command_per_connection
    if known is not None:
        return known
    if context.target.dialect.single_shot:
        return (
            "the dialect step found that it closes a kept-open connection after its first reply, "
            "or answers only once the client half-closes"
        )
    if context.target.dialect.first_command_only:
        return (
            "the dialect step found that a kept-open connection gets the reply to its first IAMAT "
            "and none to a second"
        )
    return None


def need_launcher(context: CheckContext) -> Launcher:
    if context.launcher is None:
        raise CheckUnsupported("needs to kill or pause servers: run with --launch or on the reference herd")
    return context.launcher


def neighbours_of(target: Target, name: str) -> list[str]:
    return list(target.config.neighbours(name))


def reachable_without(target: Target, origin: str, down: set[str]) -> set[str]:
    alive = [name for name in target.names if name not in down]
    for component in components(alive, target.config.links):
        if origin in component:
            return set(component)
    return set()


@contextlib.contextmanager
def failure_as(summary: str, *, clause: str | None = None, only: str | None = None) -> Iterator[None]:
    """Restate a failure inside the block in this check's words (and ``clause``, or the check's
    own clause when None). With ``only``, just a failure of that clause is restated: another
    defect seen on the way keeps its own words and clause."""
    try:
        yield
    except CheckFailed as failure:
        if only is not None and failure.clause != only:
            raise
        raise CheckFailed(summary, expected=failure.expected, seen=failure.seen, clause=clause) from None


def invalid_lines(
    context: CheckContext,
    lines: list[bytes],
    summary: str,
    *,
    strict_lines: Iterable[bytes] = (),
    unanswered_clause: str | None = "ERR-4",
    strict_unanswered: CheckBlocked | None = None,
    revive: Callable[[], None] | None = None,
) -> None:
    """Each of ``lines`` gets ``? <line>`` (every reading of the course requires it); then each of
    ``strict_lines`` does, which only herdref's strict profile asks (SPEC decision table): a
    line the course leaves open, e.g. a value a ``float()``-based parser accepts. Refusing
    those is a strict deviation when it fails, not a failure (SPEC 1.1). With
    ``strict_unanswered``, a strict line left with no reply at all is that defect, named by
    another check (BLOCKED), not a failure of ``unanswered_clause``. ``revive``: what a server
    started again after dying of a line needs before the next one (see :func:`goes_on_after`)."""
    name = context.target.names[0]
    # A line BLOCKED (its wrong answer is a defect another check named: no '?' for any invalid
    # line, a line cut short) does not end the check: a later line the herd takes as valid is
    # a defect of this check's own, and fails it.
    blocked: CheckBlocked | None = None
    # Every line is judged, and each one that fails is named (one accepted does not hide a
    # later one the herd crashes on), up to one met with silence or a server gone.
    failures: list[CheckFailed] = []
    for line in lines:
        try:
            expect_error(context, name, line + b"\n", f"{summary}: {line!r}")
        except CheckBlocked as why:
            blocked = blocked or why
        except CheckFailed as failure:
            if failure.unanswered:
                failure.summary += " (no reply)"  # told apart from lines answered otherwise
            if not goes_on_after(context, name, failure, failures, revive=revive):
                break
    if failures:
        raise named_together(failures)
    # Every strict line is sent: one accepted does not hide a later one that gets no reply,
    # which no profile allows (ERR-4).
    deviation: CheckFailed | None = None
    for line in strict_lines:
        try:
            expect_error(
                context,
                name,
                line + b"\n",
                f"{summary}: {line!r}",
                strict_part=True,
                unanswered_clause=unanswered_clause,
            )
        except CheckBlocked as why:
            blocked = blocked or why
        except CheckFailed as failure:
            if strict_unanswered is not None and failure.clause == unanswered_clause is not None:
                blocked = blocked or strict_unanswered
                continue
            if failure.strict_part is not True:
                raise
            failure.summary += " (strict profile)"
            deviation = deviation or failure
    try:
        alive_after(context, name)
    except CheckFailed:
        if blocked is None or blocked is not strict_unanswered:
            raise
    if blocked is not None:
        raise blocked
    if deviation is not None:
        raise deviation


#: How many failures :func:`named_together` names in full; the rest are counted.
_NAMED_IN_FULL: Final = 4


def named_together(
    failures: list[CheckFailed], *, kind: Callable[[CheckFailed], str] = lambda failure: failure.summary
) -> CheckFailed:
    """One FAIL for the lines of one check that each failed: the first, and each later one of
    another ``kind`` (by default each line is its own kind), so that one defect hides no other.
    It keeps the first one's clause."""
    first, *later = failures
    kinds = {kind(first)}
    named = [first]
    for failure in later:
        if kind(failure) not in kinds:
            kinds.add(kind(failure))
            named.append(failure)
    if len(named) == 1:
        return first
    shown, rest = named[:_NAMED_IN_FULL], len(named) - _NAMED_IN_FULL
    summaries = [failure.summary for failure in shown]
    # Summaries that share their words up to the line they quote say those words once.
    prefix = first.summary.partition(": ")[0] + ": "
    if all(summary.startswith(prefix) for summary in summaries):
        summaries = [summaries[0], *(summary.removeprefix(prefix) for summary in summaries[1:])]
    return CheckFailed(
        "; ".join(summaries) + (f"; and {rest} more" if rest > 0 else ""),
        expected="; ".join(dict.fromkeys(failure.expected for failure in shown)),
        seen="; ".join(failure.seen for failure in shown),
        clause=first.clause,
        strict_part=first.strict_part,
        unanswered=any(failure.unanswered for failure in named),
    )


def alive_after(context: CheckContext, name: str) -> None:
    """The server still answers after the bad input (ERR-4: the server never dies or hangs).
    Any reply that starts like an AT line will do: its shape is at-reply-format's (AT-1)."""
    reply = context.iamat(name, context.client_id("alive"), context.location(), context.now_time())
    if not looks_like_at(reply.data):
        seen = show(reply.received or None) + (f" ({reply.error})" if reply.error else "")
        raise CheckFailed(
            f"{name} refused ('?') a valid IAMAT sent after the bad input"
            if reply.data.startswith(b"?")
            else f"{name} no longer answers after the bad input",
            expected="an AT reply to a valid IAMAT",
            seen=seen + (" (the server closed the connection)" if reply.closed and not reply.data else ""),
            clause="ERR-4",
        )


def reported(context: CheckContext, name: str, client: bytes) -> None:
    """An IAMAT for ``client`` that must be answered (IAMAT-4), so that ``name`` knows it: any
    reply that starts like an AT line will do (its shape is at-reply-format's, AT-1)."""
    reply = context.iamat(name, client, context.location(), context.now_time())
    if not looks_like_at(reply.data):
        raise CheckFailed(
            f"{name} did not answer a valid IAMAT with an AT line",
            expected=f"AT {name} <time-diff> {client.decode(errors='replace')} ...",
            seen=show(reply.received or None) + (f" ({reply.error})" if reply.error else ""),
            clause="IAMAT-4",
        )


def held_soon(context: CheckContext, name: str, client: bytes) -> bool:
    """Whether ``name`` holds a record of ``client`` within the propagation time (asked on
    connections of its own): a '?' to a WHATSAT sent right after the IAMAT was then the race
    of a server that keeps a record only once a neighbour sends it back (STATE-1)."""
    try:
        wait_until(
            lambda: context.stored_line(name, client, silence_is_none=True) is not None,
            deadline_s=context.remaining(context.target.propagation_s),
        )
    except DeadlinePassed:
        return False
    return True


def only_error_lines(data: bytes) -> bool:
    """Whether every line of ``data`` that is not blank is a '?' reply (none at all: True)."""
    return all(line.startswith(b"?") for line in data.split(b"\n") if line.strip(WHITESPACE))
