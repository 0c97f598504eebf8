"""What a check left behind, judged after it ran (herdref.checker.runner): servers that died
or hung during it, and why.

* A server that died fails the check (ERR-4: the server never dies, whatever it is sent); one
  that exited right after the check killed a neighbour of it, and dies again when, after one
  IAMAT it answered, only that neighbour is killed, died of that death (LINK-4: a server keeps
  working when a neighbour goes down).
* A server that met silence and then answers no valid IAMAT has hung (ERR-4); it is killed so
  that the checks after this one judge a herd that answers.
* A server that died after the check sent it a WHATSAT, in a herd known to exit on a WHATSAT
  for a client it does not know, died of the checker's own poll for a record still on its
  way: the check is BLOCKED by unknown-client (knowledge ``unknown_client_kills``).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Mapping
from typing import Final

from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.launcher import LaunchError, ServerProcess
from herdref.checker.outcomes import CheckBlocked, CheckFailed
from herdref.checker.ports import port_open
from herdref.checker.side_by_side import ask_each
from herdref.checker.socket_queues import port_queues
from herdref.checker.target import CheckContext
from herdref.model.judge import looks_like_at

__all__ = ["judged_after", "require_all_up"]

#: How soon after its neighbour was killed a server that exits died of that death, at least (a
#: herd that stops its event loop when a link drops exits within milliseconds on an idle
#: machine; on a loaded one its exit took over a second, so the run's reply timeout is taken
#: where it is longer: a suspect only, which _dies_with puts to the test).
_NEIGHBOUR_DEATH_S: Final = 1.0


def _neighbour_death_window(context: CheckContext) -> float:
    return max(_NEIGHBOUR_DEATH_S, context.target.timeout_s)


def judged_after(context: CheckContext, check_name: str, error: BaseException | None) -> BaseException | None:
    """What the check's ``error`` becomes once what it left behind is judged (see the module
    docstring): BLOCKED by unknown-client, or the hang it caused."""
    if error is not None and not isinstance(error, CheckBlocked):
        error = _killed_by_unknown_client_poll(context, check_name, error) or error
    # Even a check that failed: a strict-only failure ('no ? reply') may stand for a server
    # that answers nothing ever again, the defect a client meets first.
    hung = _hung_servers(context) if context.silent else None
    if hung is not None and isinstance(error, CheckFailed):
        hung.summary += f"; before that: {error.summary}"
    return hung if hung is not None else error


def require_all_up(context: CheckContext, kills_before: int, before: Mapping[str, ServerProcess]) -> None:
    """The server never dies: every server that is meant to run still listens. One that
    exited soon after the check killed a neighbour of it (the launcher's kills from
    ``kills_before`` on), and again in :func:`_dies_with`'s test, died of that death (LINK-4; a
    student herd stopped its event loop when a link to a killed neighbour dropped), and so did
    the servers that died with it (their neighbour's death took them down in turn). A server
    whose process of ``before`` (as the check began) died by itself counts too, though the
    check started it again (a check that restarts the whole herd would hide the death)."""
    target = context.target
    launcher = target.launcher
    if launcher is None:
        for name in target.names:
            address = target.config.address(name)
            if not port_open(address.host, address.port):
                raise CheckFailed(
                    f"{name} stopped accepting connections during this check",
                    expected=f"{name} keeps listening",
                    clause="ERR-4",
                    seen="connection refused",
                )
        return
    _let_closing_servers_exit(context, kills_before)
    ended: dict[str, ServerProcess] = {}
    for name in target.names:
        current, earlier = launcher.processes.get(name), before.get(name)
        if current is not None and name not in launcher.stopped and not launcher.alive(name):
            ended[name] = current
        elif (
            earlier is not None
            and earlier is not current
            and earlier.died_by_itself
            # Not a death the check met and started the server again after, on purpose.
            and name not in context.details.get("restarted_after_death", set())
        ):
            ended[name] = earlier
    dead = list(ended)
    if not dead:
        return
    killed_by: dict[str, str] = {}
    for name in dead:
        killer = _neighbour_killed_before(context, name, ended[name].exited_at, kills_before)
        known_to_die = target.knowledge.neighbour_death_kills is not None
        if killer is not None and (known_to_die or _dies_with(context, name, killer)):
            killed_by[name] = killer
            break
    if not killed_by:
        raise CheckFailed(
            f"{dead[0]} died during this check",
            expected=f"{dead[0]} keeps running whatever it is sent",
            clause="ERR-4",
            seen=f"process exited; output: {launcher.output_tail(dead[0], limit=600)!r}",
        )
    name, killer = next(iter(killed_by.items()))
    others = [other for other in dead if other != name]
    summary = (
        f"{name} died during this check, right after its neighbour {killer} was killed"
        + (f" (and {', '.join(others)} with it)" if others else "")
        + ": a server keeps running when a neighbour goes down"
    )
    known = target.knowledge.neighbour_death_kills
    if known is not None:
        # Every check that kills a server meets it again: named once.
        raise CheckBlocked(target.knowledge.learned_by["neighbour_death_kills"], f"{summary} ({known})")
    context.learned["neighbour_death_kills"] = summary
    raise CheckFailed(
        summary,
        expected=f"{name} keeps running and answering whatever happens to its neighbours",
        clause="LINK-4",
        seen=f"process exited; output: {launcher.output_tail(name, limit=600)!r}",
        blocks_dependents=False,
        # Seen twice: in the check, and again in _dies_with's test, unless the run
        # already knew it (then it is BLOCKED above).
        reproduced=True,
    )


def _let_closing_servers_exit(context: CheckContext, kills_before: int) -> None:
    """After a check that killed a server: a running server whose listening socket is gone is
    on its way out; it is given :func:`_neighbour_death_window` to finish (a server that stops
    its event loop when a link drops closes its port at once, but on a loaded machine its
    process took over a second to end, and the death went unseen). The kernel's table is read,
    no connection is made; where it shows none of the herd's ports, nothing is waited for."""
    target, launcher = context.target, context.target.launcher
    if launcher is None or len(launcher.kill_log) <= kills_before or launcher.single_process:
        return
    running = {
        name: target.config.address(name).port
        for name in target.names
        if name not in launcher.stopped and launcher.alive(name) and not launcher.processes[name].paused
    }
    queues = port_queues(running.values())
    if queues is None or all(queues[port].accept_queue is None for port in running.values()):
        return  # the herd's sockets are not in this namespace's table (or nothing runs)
    deadline = time.monotonic() + _neighbour_death_window(context)
    for name, port in running.items():
        if queues[port].accept_queue is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                launcher.processes[name].process.wait(timeout=max(0.0, deadline - time.monotonic()))


def _neighbour_killed_before(
    context: CheckContext, name: str, exited_at: float | None, kills_before: int
) -> str | None:
    """The neighbour of ``name`` the check killed within :func:`_neighbour_death_window` before
    ``name`` exited, or None: a suspect only (the check may have sent ``name`` a line it died
    of meanwhile), which :func:`_dies_with` puts to the test."""
    launcher = context.target.launcher
    if launcher is None or launcher.single_process:
        return None
    if exited_at is None:
        # Its exit not noted yet by the thread that waits for it (a loaded machine, in a
        # fresh-clone run): it exited by now, which bounds the time from above.
        exited_at = time.monotonic()
    neighbours = {a if b == name else b for a, b in context.target.config.links if name in (a, b)}
    for killed, killed_at in reversed(launcher.kill_log[kills_before:]):
        if killed in neighbours and killed_at <= exited_at <= killed_at + _neighbour_death_window(context):
            return killed
    return None


def _herd_back(context: CheckContext) -> bool:
    """Whether every server the run keeps running runs again (restarted or resumed)."""
    target, launcher = context.target, context.target.launcher
    try:
        if launcher is not None:
            launcher.ensure_all_running(deadline_s=target.startup_s, keep_down=target.knowledge.kept_down)
    except LaunchError:
        return False
    return launcher is not None


def _dies_with(context: CheckContext, name: str, killer: str) -> bool:
    """Whether ``name`` dies again when ``killer`` is killed and nothing more is sent to
    anyone: the whole herd brought back, one IAMAT answered by ``name`` (see below), ``killer``
    killed, ``name`` watched for :func:`_neighbour_death_window`. (The run's restore after the
    check brings both back.)"""
    launcher = context.target.launcher
    if launcher is None or not _herd_back(context):
        return False
    # A herd that floods over connections it opens per record and leaves open holds a link to
    # ``killer`` only once it has flooded (a student herd stopped its event loop when such a
    # connection dropped: with nothing sent, the death never came again). So ``name`` is sent
    # one valid IAMAT first; it answers it and runs on, so a death after the kill is the kill's.
    # Outside the check's budget, as the other aftermath probes: a check that spent its budget
    # (a cascade of deaths does) must still have its death judged, not end in BudgetSpent.
    probe = CheckContext(context.target, f"{context.check_name}.flooded", budgeted=False)
    answer = probe.iamat(name, probe.client_id("flooded"), probe.location(), probe.now_time())
    context.transcript.entries.extend(probe.transcript.entries)
    if not looks_like_at(answer.data) or not launcher.alive(name):
        return False
    _linked_to(context, killer)
    launcher.kill(killer)
    try:
        wait_until(lambda: not launcher.alive(name), deadline_s=_neighbour_death_window(context))
    except DeadlinePassed:
        context.transcript.note(
            f"{name} outlived {killer}'s death when nothing was sent to it after an answered IAMAT"
        )
        return False
    context.transcript.note(
        f"{name} died again when only its neighbour {killer} was killed (nothing sent to it after "
        "an answered IAMAT)"
    )
    return True


def _linked_to(context: CheckContext, name: str) -> None:
    """Wait, up to :func:`_neighbour_death_window`, until each neighbour of ``name`` holds a
    connection to its port, as the kernel's table shows: servers just started again link up a
    moment later, and a neighbour killed before that drops no link (on a loaded machine the
    second kill came first, and the death it should have repeated went unseen). Where the
    table shows nothing of the herd (another host, no /proc), or a herd keeps no links, the
    wait ends at its deadline."""
    target = context.target
    address = target.config.address(name)
    ports = [address.port, *([address.peer_port] if address.peer_port is not None else [])]
    wanted = len({a if b == name else b for a, b in target.config.links if name in (a, b)})

    def linked() -> bool:
        queues = port_queues(ports)
        return queues is None or sum(queue.connections for queue in queues.values()) >= wanted

    with contextlib.suppress(DeadlinePassed):
        wait_until(linked, deadline_s=_neighbour_death_window(context))


def _hung_servers(context: CheckContext) -> CheckFailed | None:
    """ERR-4 (the server never dies or hangs) where this check met silence: each running
    server is sent a valid IAMAT, and one that accepts the connection but answers nothing,
    while the dialect step saw IAMATs answered, has hung. It is killed (the run's restore
    starts it again), so that the checks after this one judge a herd that answers, and the
    check that hung it says so (a student herd blocked its event loop for good on a Places
    HTTP 500: the checks after it judged silence as 'no record' and passed)."""
    target = context.target
    launcher = target.launcher
    if target.dialect_probes is None or not target.dialect.iamat_answered:
        return None  # no dialect step saw this herd answer an IAMAT
    # Not a server a check left stopped (SIGSTOP): the restore resumes it.
    alive = [
        name
        for name in target.running
        if launcher is None or (launcher.alive(name) and not launcher.processes[name].paused)
    ]
    probe = CheckContext(target, f"{context.check_name}.alive", budgeted=False)
    replies = ask_each(
        alive, lambda name: probe.iamat(name, probe.client_id("alive"), probe.location(), probe.now_time())
    )
    hung = [
        name
        for name, reply in replies.items()
        if not isinstance(reply, Exception)
        and not reply.received
        and not reply.closed
        and reply.error is None
    ]
    if not hung:
        return None
    context.transcript.note(
        f"after this check's silences, a valid IAMAT to each server: {', '.join(hung)} answered nothing"
    )
    context.transcript.entries.extend(probe.transcript.entries)
    for name in hung:
        if launcher is not None:
            launcher.kill(name)
    return CheckFailed(
        f"{', '.join(hung)} stopped answering during this check: the port accepts connections, but a "
        f"valid IAMAT got nothing within {target.timeout_s:g} s (hung; killed and started again)",
        expected="an AT reply to a valid IAMAT, whatever the server was sent before",
        seen="nothing; the connection left open",
        clause="ERR-4",
        blocks_dependents=False,
    )


def _killed_by_unknown_client_poll(
    context: CheckContext, check_name: str, error: BaseException
) -> CheckBlocked | None:
    """BLOCKED by unknown-client where the run knows that a WHATSAT for a client a server does
    not know kills it (knowledge ``unknown_client_kills``) and a server that this check sent a
    WHATSAT died during it: a check that waits for a record asks for it with WHATSATs, and
    until the record arrives each is one for a client unknown there. What the check then saw
    (a record that never arrived, a dead server) is that defect again, the checker's own poll
    its cause (a student herd: 'never floods to its neighbour', untrue)."""
    target = context.target
    known = target.knowledge.unknown_client_kills
    launcher = target.launcher
    if launcher is None or check_name == "unknown-client":
        return None
    said = str(error) + "".join(
        entry.data.decode(errors="replace")
        for entry in context.transcript.entries
        if entry.direction == "note"
    )
    asked = {
        entry.server
        for entry in context.transcript.entries
        if entry.direction == "send" and entry.data.lstrip().startswith(b"WHATSAT")
    }
    killed = [
        name
        for name in target.names
        if name in asked and (launcher.crashed(name) or f"{name} exited" in said or f"{name} died" in said)
    ]
    if not killed:
        return None
    if known is None:
        # Not known yet (unknown-client runs later): put it to the test as _dies_with does, a
        # WHATSAT for a client no server knows, nothing else sent. A herd whose checks before
        # unknown-client polled for a record a moment too soon had a death named ERR-4 by
        # whichever check met it first, in one fresh-clone run of several.
        if not _dies_on_unknown_client(context, killed[0]):
            return None
        known = (
            f"{killed[0]} exited again when sent only a WHATSAT for a client no server knows "
            "(unknown-client names that, WHATSAT-4)"
        )
        target.knowledge.learn({"unknown_client_kills": known}, check="unknown-client")
    return CheckBlocked(
        "unknown-client",
        f"{', '.join(killed)} died during this check after being sent a WHATSAT, which may have "
        f"asked for a client it did not know yet (a record still on its way): {known}",
    )


def _dies_on_unknown_client(context: CheckContext, name: str) -> bool:
    """Whether ``name`` exits when, the herd brought back, it is sent a WHATSAT for a client no
    server knows and nothing else (watched for :func:`_neighbour_death_window`)."""
    target, launcher = context.target, context.target.launcher
    if launcher is None or not _herd_back(context):
        return False
    probe = CheckContext(target, f"{context.check_name}.unknown", budgeted=False)
    probe.send(name, b"WHATSAT %s 10 1\n" % probe.client_id("nobody"), whatsat=True)
    context.transcript.entries.extend(probe.transcript.entries)
    try:
        wait_until(lambda: not launcher.alive(name), deadline_s=_neighbour_death_window(context))
    except DeadlinePassed:
        return False
    context.transcript.note(f"{name} exited again when sent only a WHATSAT for a client no server knows")
    return True
