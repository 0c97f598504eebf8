"""Server processes, ports and deadlines (herdref.checker.processes, .ports, .deadline): what
the launcher, herdref herd, the e2e harness and the benchmarks all start servers with."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from herdref.checker import ports as ports_module
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.ports import free_ports, herd_on_free_ports, port_open
from herdref.checker.processes import (
    ProcessExited,
    describe_exit,
    kill_process,
    signal_group,
    start_process,
    stop_processes,
    wait_listening,
)
from herdref.herd.config import Limits, dump_config, parse_config

# Listens on argv[1]; ignores SIGTERM when argv[2] says so (a server that will not stop).
LISTENER = (
    "import signal, socket, sys, time\n"
    "if sys.argv[2:] == ['stubborn']: signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "s = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
    "while True: time.sleep(1)\n"
)


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie nobody reaps yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_wait_until_returns_the_seconds_it_took() -> None:
    answers = iter([False, False, True])
    took = wait_until(lambda: next(answers), deadline_s=5, poll_s=0.001)
    assert 0 <= took < 5


def test_wait_until_asks_once_even_with_no_time_left() -> None:
    assert wait_until(lambda: True, deadline_s=0) >= 0


def test_a_passed_deadline_is_an_error_that_names_what_was_awaited() -> None:
    calls = itertools.count()
    with pytest.raises(DeadlinePassed, match=r"not true within 0.05 s: the thing"):
        wait_until(lambda: next(calls) < 0, deadline_s=0.05, what="the thing", poll_s=0.001)
    assert next(calls) >= 2


def test_port_open_tells_a_listening_port_from_a_closed_one() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert port_open("127.0.0.1", port)
    assert not port_open("127.0.0.1", port)


def test_a_herd_on_free_ports_has_distinct_ports_and_reads_back_from_its_file(tmp_path: Path) -> None:
    config = herd_on_free_ports(
        ["A", "B", 'C"q'],
        [("A", "B"), ("B", 'C"q')],
        log_dir=tmp_path / "logs",
        mode="ephemeral",
        host={"A": "127.0.0.1", "B": "127.0.0.2", 'C"q': "::1"},
        peer_ports=True,
        limits=Limits(max_clients=7),
    )
    ports = [port for address in config.servers.values() for port in (address.port, address.peer_port)]
    assert len(set(ports)) == 6 and None not in ports
    assert [address.host for address in config.servers.values()] == ["127.0.0.1", "127.0.0.2", "::1"]
    assert config.neighbours("B") == ("A", 'C"q')
    assert config.places.provider == "fixture" and config.limits.max_clients == 7
    assert parse_config(dump_config(config)) == config


def test_free_ports_are_distinct_bindable_and_below_the_kernels_ephemeral_range() -> None:
    # An outgoing connection takes its local port from the ephemeral range: a port chosen there
    # was taken between choosing and binding often enough to fail a test run ("already in use").
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = free_ports(40)
    assert len(set(ports)) == 40
    assert all(10_000 <= port < floor for port in ports), ports
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
    # More than one process block's worth (the corpus runs take 5 ports per herd): still none
    # handed out twice, though every port is free again by the next call.
    handed_out = [port for _ in range(150) for port in free_ports(5)]
    assert len(set(handed_out)) == len(handed_out) == 750


def test_a_port_handed_to_a_living_process_is_not_handed_out_again_until_it_exits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server stopped for a restart check leaves its port free to bind for a moment; the
    # process that chose it must still own it (a corpus run walks into other processes' blocks).
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from herdref.checker.ports import free_ports; "
            "print(*free_ports(3), flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as chooser:
        assert chooser.stdout is not None and chooser.stdin is not None
        theirs = [int(port) for port in chooser.stdout.readline().split()]
        assert len(theirs) == 3
        # This process's block walk is made to offer their ports and nothing else.
        monkeypatch.setattr(ports_module, "_block_candidates", lambda: iter(theirs))
        try:
            (mine,) = free_ports(1)
            assert mine not in theirs  # the kernel's choice, every candidate being reserved
        finally:
            chooser.stdin.close()
            chooser.wait(timeout=30)
    assert free_ports(1) == theirs[:1]  # their reservations ended with them


def test_wait_listening_gives_the_seconds_until_the_port_opened(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    process = start_process([sys.executable, "-c", LISTENER, str(port)])
    try:
        assert wait_listening(process, "127.0.0.1", port, deadline_s=30, name="L") >= 0
        assert os.getpgid(process.pid) == process.pid  # a group of its own
    finally:
        stop_processes([process])
    assert process.returncode == -signal.SIGTERM
    assert not port_open("127.0.0.1", port)


def test_a_process_that_exits_while_awaited_is_reported_at_once() -> None:
    (port,) = free_ports(1)
    process = start_process([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(ProcessExited, match=r"^L exited with status 3$") as caught:
        wait_listening(process, "127.0.0.1", port, deadline_s=60, name="L")
    assert caught.value.returncode == 3
    assert describe_exit(-9) == "signal 9"


def test_a_port_that_never_opens_is_a_passed_deadline() -> None:
    (port,) = free_ports(1)
    process = start_process([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(DeadlinePassed, match=f"listening on 127.0.0.1:{port}"):
            wait_listening(process, "127.0.0.1", port, deadline_s=0.2)
    finally:
        kill_process(process)
    assert process.returncode == -signal.SIGKILL


def test_stopping_kills_what_ignores_sigterm_and_what_a_wrapper_started(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    pid_file = tmp_path / "child.pid"
    wrapper = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {LISTENER!r}, '{port}', 'stubborn'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "child.wait()\n"
    )
    process = start_process([sys.executable, "-c", wrapper])
    wait_listening(process, "127.0.0.1", port, deadline_s=30)
    child = int(pid_file.read_text())
    stop_processes([process], grace_s=0.2)
    assert process.returncode is not None
    wait_until(lambda: not alive(child), deadline_s=10, what="the wrapper's child is gone")


def test_a_paused_process_still_stops_on_sigterm() -> None:
    (port,) = free_ports(1)
    process = start_process([sys.executable, "-c", LISTENER, str(port)])
    wait_listening(process, "127.0.0.1", port, deadline_s=30)
    signal_group(process.pid, signal.SIGSTOP)
    kill_process(process, signal.SIGTERM, grace_s=30)
    assert process.returncode == -signal.SIGTERM


def test_signalling_a_group_that_is_gone_is_no_error() -> None:
    process = start_process([sys.executable, "-c", "pass"])
    process.wait(30)
    signal_group(process.pid, signal.SIGTERM)
    kill_process(process)
    assert process.returncode == 0


def test_a_command_that_cannot_start_is_an_os_error() -> None:
    with pytest.raises(FileNotFoundError):
        start_process(["/nonexistent/herdref-server"])
