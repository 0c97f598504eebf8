"""The process launcher: substitution, process groups, kill/pause/restart, unreachable targets."""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from pathlib import Path

import pytest

from herdref.checker.checks.registry import Check
from herdref.checker.client import exchange
from herdref.checker.deadline import DeadlinePassed, wait_until
from herdref.checker.launcher import Launcher, LaunchError, PortBusy
from herdref.checker.ports import free_ports
from herdref.checker.runner import run_checks
from herdref.checker.target import CheckContext, CheckFailed, Target
from herdref.herd.config import parse_config

# A one-line echo server: the launcher needs something that listens on {port}.
ECHO_SERVER = (
    "import socket,sys\n"
    "s=socket.create_server(('127.0.0.1',int(sys.argv[1])))\n"
    "while True:\n"
    "    c,_=s.accept(); d=c.recv(100); c.sendall(d.upper()); c.close()\n"
)


@pytest.fixture
def launcher(tmp_path: Path):
    script = tmp_path / "echo.py"
    script.write_text(ECHO_SERVER)
    (port,) = free_ports(1)
    config = parse_config(f"[servers]\nSolo = {{ port = {port} }}\n")
    herd = Launcher(
        template=f"{sys.executable} {script} {{port}} '{{name}} and {{config}}'",
        config=config,
        config_path=tmp_path / "herd toml",
        output_dir=tmp_path / "out",
    )
    yield herd
    herd.stop_all()


def test_the_template_is_split_before_substitution(launcher: Launcher, tmp_path: Path) -> None:
    command = launcher.command("Solo")
    assert command[-1] == f"Solo and {tmp_path / 'herd toml'}"
    assert command[-2] == str(launcher.config.address("Solo").port)


def test_start_kill_and_restart(launcher: Launcher) -> None:
    address = launcher.config.address("Solo")
    launcher.start_all(deadline_s=10)
    assert exchange(address.host, address.port, b"hi", timeout_s=2).data == b"HI"
    launcher.kill("Solo")
    assert not launcher.alive("Solo")
    assert "Solo" in launcher.stopped
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection((address.host, address.port), timeout=1),
    ):
        pass
    seconds = launcher.restart("Solo", deadline_s=10)
    assert seconds >= 0
    assert "Solo" not in launcher.stopped
    assert exchange(address.host, address.port, b"again", timeout_s=2).data == b"AGAIN"


def test_a_paused_server_answers_only_after_resume(launcher: Launcher) -> None:
    address = launcher.config.address("Solo")
    launcher.start_all(deadline_s=10)
    launcher.pause("Solo")
    assert exchange(address.host, address.port, b"wait", timeout_s=0.3).data == b""
    launcher.resume("Solo")
    assert exchange(address.host, address.port, b"now", timeout_s=2).data == b"NOW"


def test_sigterm_stops_the_server(launcher: Launcher) -> None:
    launcher.start_all(deadline_s=10)
    launcher.kill("Solo", signal.SIGTERM)
    assert not launcher.alive("Solo")


def test_a_server_that_exits_is_reported_at_once(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    herd = Launcher(
        template=f"{sys.executable} -c \"print('no such herd'); raise SystemExit(3)\"",
        config=parse_config(f"[servers]\nSolo = {{ port = {port} }}\n"),
        config_path=tmp_path / "herd.toml",
        output_dir=tmp_path / "out",
    )
    with pytest.raises(LaunchError, match=r"exited with status 3.*no such herd"):
        herd.start_all(deadline_s=30)
    herd.stop_all()


def test_a_server_that_never_listens_hits_the_deadline(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    herd = Launcher(
        template=f'{sys.executable} -c "import time; time.sleep(30)"',
        config=parse_config(f"[servers]\nSolo = {{ port = {port} }}\n"),
        config_path=tmp_path / "herd.toml",
        output_dir=tmp_path / "out",
    )
    with pytest.raises(LaunchError, match="did not open"):
        herd.start_all(deadline_s=0.3)
    herd.stop_all()
    assert not herd.alive("Solo")


def test_a_port_already_in_use_is_refused_before_starting(launcher: Launcher) -> None:
    address = launcher.config.address("Solo")
    with socket.create_server((address.host, address.port)), pytest.raises(PortBusy, match="already in use"):
        launcher.start_all(deadline_s=5)
    assert not launcher.alive("Solo")


class _ListensAtItsDeadline(Launcher):
    """Servers that run and each open their port only at the last moment they are given."""

    given: list[float]

    def alive(self, name: str) -> bool:
        return True

    def wait_listening(self, name: str, *, deadline_s: float) -> float:
        self.given.append(deadline_s)
        with contextlib.suppress(DeadlinePassed):  # the server under test, slow to listen
            wait_until(lambda: False, deadline_s=deadline_s)
        return deadline_s


def test_restoring_every_server_keeps_to_one_deadline_for_them_all(tmp_path: Path) -> None:
    # The runner restores the herd within what is left of the run's budget: that deadline is
    # for the whole herd, not for each server again (three slow servers took three times it).
    ports = free_ports(3)
    herd = _ListensAtItsDeadline(
        template="unused {name}",
        config=parse_config("[servers]\n" + "".join(f"S{port} = {{ port = {port} }}\n" for port in ports)),
        config_path=tmp_path / "herd.toml",
        output_dir=tmp_path / "out",
    )
    herd.given = []
    herd.ensure_all_running(deadline_s=0.3)
    assert len(herd.given) == 3
    # The first waited the whole deadline out: nothing is left for the others.
    assert herd.given[0] <= 0.3 and herd.given[1:] == [0.0, 0.0], herd.given


# Told "die", it closes its port before it answers but exits (status 1) only a second later: a
# server that dies on a line looks alive for a moment after its sockets are gone.
SLOW_TO_DIE_SERVER = (
    "import os,socket,sys,time\n"
    "s=socket.create_server(('127.0.0.1',int(sys.argv[1])))\n"
    "while True:\n"
    "    c,_=s.accept(); d=c.recv(100)\n"
    "    if d==b'die': s.close()\n"
    "    c.sendall(d.upper()); c.close()\n"
    "    if d==b'die': time.sleep(1); os._exit(1)\n"
)


def test_a_server_still_exiting_when_the_herd_is_restored_is_started_again(tmp_path: Path) -> None:
    script = tmp_path / "slow_to_die.py"
    script.write_text(SLOW_TO_DIE_SERVER)
    (port,) = free_ports(1)
    config = parse_config(f"[servers]\nSolo = {{ port = {port} }}\n")
    herd = Launcher(
        template=f"{sys.executable} {script} {{port}}",
        config=config,
        config_path=tmp_path / "herd.toml",
        output_dir=tmp_path / "out",
    )
    try:
        herd.start_all(deadline_s=10)
        assert exchange("127.0.0.1", port, b"die", timeout_s=10).data == b"DIE"
        herd.ensure_all_running(deadline_s=10)
        assert herd.starts["Solo"] == 2
        assert exchange("127.0.0.1", port, b"back", timeout_s=10).data == b"BACK"
    finally:
        herd.stop_all()


# Told "melt", it closes its port but keeps running (a herd out of file descriptors in its own
# flood storm): alive, and no connection is accepted any more. The port is closed before the
# answer is sent, so once "MELT" has arrived no later connection can still land in its backlog.
MELTING_SERVER = (
    "import socket,sys,time\n"
    "s=socket.create_server(('127.0.0.1',int(sys.argv[1])))\n"
    "while True:\n"
    "    c,_=s.accept(); d=c.recv(100)\n"
    "    if d==b'melt': s.close()\n"
    "    c.sendall(d.upper()); c.close()\n"
    "    if d==b'melt':\n"
    "        while True: time.sleep(60)\n"
)


def test_a_herd_that_stops_accepting_is_restarted_from_scratch_and_the_run_goes_on(tmp_path: Path) -> None:
    script = tmp_path / "melting.py"
    script.write_text(MELTING_SERVER)
    (port,) = free_ports(1)
    config = parse_config(f"[servers]\nSolo = {{ port = {port} }}\n")
    herd = Launcher(
        template=f"{sys.executable} {script} {{port}}",
        config=config,
        config_path=tmp_path / "herd.toml",
        output_dir=tmp_path / "out",
    )
    target = Target(config=config, check_budget_s=20, launcher=herd, startup_s=3)

    def melt(context: CheckContext) -> None:
        assert exchange("127.0.0.1", port, b"melt", timeout_s=10).data == b"MELT"

    def answers(context: CheckContext) -> None:
        if exchange("127.0.0.1", port, b"next", timeout_s=10).data != b"NEXT":
            raise CheckFailed("no answer", expected="NEXT", seen="nothing")

    try:
        herd.start_all(deadline_s=10)
        outcomes = run_checks(
            target,
            [
                Check("melt", "ERR-4", "MUST", "melt", melt, requires=()),
                Check("after", "ERR-4", "MUST", "after", answers, requires=()),
            ],
        )
    finally:
        herd.stop_all()
    assert [(outcome.check, outcome.verdict) for outcome in outcomes] == [("melt", "PASS"), ("after", "PASS")]
    assert any("started again from scratch" in line for line in outcomes[0].transcript)
    assert herd.starts["Solo"] == 2
