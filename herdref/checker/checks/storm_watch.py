"""After a check sent AT lines of its own: do they go round the herd for ever? (FLOOD-2)

flood-older-ignored sends AT lines as a neighbour does. A herd whose floods are in a format of
its own (protocol notes A13) may pass such a line on without end: a student herd appended the
servers a record had visited after the line's LF, its neighbours' one readline() dropped the
list, and every server relayed the line to every neighbour again. Nothing the check reads shows
it (the records held are right), and the storm then slowed every later check until the run's
budget was spent (28 checks SKIPPED, the storm never named).

So, where the checker runs the herd, the servers' CPU time is read over a moment in which
nothing is sent to them: an idle herd uses next to none. A herd at work then is put to the
test flood-storm uses: the server whose loss leaves the most cycles is killed, a listener takes
its port, and the copies of the check's own record that its neighbours send there are counted.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Final

from herdref.checker.checks.helpers import neighbours_of
from herdref.checker.checks.registry import CheckFailed
from herdref.checker.checks.sink import Sink, end_storm, sink_server_for
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.launcher import Launcher
from herdref.checker.target import CheckContext

__all__ = ["herd_cpu_s", "storm_left_by"]

#: How long the servers' CPU time is read with nothing sent to them.
_QUIET_S: Final = 0.3
#: CPU-seconds per second, all servers together, that show a herd at work while idle: a storm
#: keeps a core busy; an idle herd (timers, a log flush) stays far below.
_BUSY_SHARE: Final = 0.25
#: How long the listener counts copies of the record.
_WATCH_S: Final = 1.0
_PROC: Final = Path("/proc")


def herd_cpu_s(launcher: Launcher) -> float | None:
    """The CPU time (user and system, seconds) of every process in the herd's servers' process
    groups (each server is started as a group of its own: a wrapper's children count too);
    None where /proc cannot tell."""
    groups = {server.process.pid for server in launcher.processes.values() if server.process.poll() is None}
    if not groups or not _PROC.is_dir():
        return None
    ticks = 0
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile, or not readable
            continue
        # After the command's closing parenthesis: state, ppid, pgrp, ... utime (12th), stime.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 12 and int(fields[2]) in groups:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def storm_left_by(context: CheckContext, client: bytes, what: str) -> None:
    """FLOOD-2: fail when records of ``client`` (sent by the check: ``what``) keep arriving at
    a stopped server's port, the herd busy with nothing sent to it. The storm is then ended
    (every server killed, to start again fresh) and the run learns it."""
    target = context.target
    launcher = target.launcher
    if launcher is None or target.knowledge.alone is not None or len(target.names) < 2:
        return
    before = herd_cpu_s(launcher)
    if before is None:
        return
    time.sleep(_QUIET_S)  # a measurement window: nothing is sent meanwhile
    after = herd_cpu_s(launcher)
    share = 0.0 if after is None else (after - before) / _QUIET_S
    if share < _BUSY_SHARE:
        return
    sink_name = sink_server_for(target)
    neighbours = neighbours_of(target, sink_name)
    limit = 4 * len(neighbours) + 4
    context.transcript.note(
        f"with nothing sent to them for {_QUIET_S:g} s the servers used {share:.0%} of a CPU: "
        f"{sink_name} is killed and its port listened on for copies of {client!r}"
    )
    launcher.kill(sink_name)
    marker = b" %s " % client
    with Sink(*context.address(sink_name)) as sink:
        with contextlib.suppress(DeadlinePassed):
            wait_until(lambda: sink.count(marker) > limit, deadline_s=_WATCH_S)
        copies = sink.count(marker)
    if copies <= limit:
        context.transcript.note(
            f"{copies} copies of {client!r} reached {sink_name} in {_WATCH_S:g} s: no storm of it"
        )
        return
    summary = (
        f"flood storm: after {what}, the record kept arriving at {sink_name} ({copies} copies "
        f"within {_WATCH_S:g} s, nothing more sent): the herd passes the line on without end"
    )
    context.learned["at_lines_flood_forever"] = f"{context.check_name}: {summary}"
    end_storm(context)
    raise CheckFailed(
        summary,
        expected=f"at most {limit} copies of a record (one per link, plus catch-up)",
        seen=f"{copies} copies of records of {client!r} and counting",
        clause="FLOOD-2",
    )
