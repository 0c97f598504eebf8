"""When the stateful run says a server died (ERR-4): only a process that exited although the
checker did not stop it. A server the run killed itself, and left down because the run's budget
was nearly spent when the example ended (its teardown restores nothing then), is no death of
the herd's, for that example or any later one (a student herd got "Jaquez died during the
stateful run" for the checker's own SIGKILL). A real crash still fails, with its exit status
and the end of its output."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from herdref.checker.client import exchange
from herdref.checker.deadline import wait_until
from herdref.checker.launcher import Launcher
from herdref.checker.machine import HerdViolation, build_machine
from herdref.checker.ports import free_ports
from herdref.checker.target import Target
from herdref.herd.config import parse_config

pytest.importorskip("hypothesis")

# A server that listens, and exits with a traceback when told to crash.
CRASHING_SERVER = (
    "import socket,sys\n"
    "s=socket.create_server(('127.0.0.1',int(sys.argv[1])))\n"
    "while True:\n"
    "    c,_=s.accept(); d=c.recv(100); c.close()\n"
    "    if d.startswith(b'crash'): raise RuntimeError('told to crash')\n"
)


@pytest.fixture
def herd(tmp_path: Path) -> Iterator[Target]:
    """Three running servers (a kill step needs three answering), started by a real launcher."""
    script = tmp_path / "server.py"
    script.write_text(CRASHING_SERVER)
    ports = free_ports(3)
    lines = "".join(f"{name} = {{ port = {port} }}\n" for name, port in zip("ABC", ports, strict=True))
    config = parse_config(f'[servers]\n{lines}[links]\npairs = [["A", "B"], ["B", "C"]]\n')
    launcher = Launcher(
        template=f"{sys.executable} {script} {{port}}",
        config=config,
        config_path=tmp_path / "herd.toml",
        output_dir=tmp_path / "out",
    )
    target = Target(config=config, timeout_s=5, startup_s=10)
    target.launcher = launcher
    target.run_deadline = time.monotonic() + 600
    launcher.start_all(deadline_s=10)
    yield target
    launcher.stop_all()


def _example(machine: type[Any]) -> Any:
    return machine()


def test_a_server_the_run_killed_and_left_down_at_the_budget_did_not_die(herd: Target) -> None:
    launcher = herd.launcher
    assert launcher is not None
    machine = build_machine(herd)
    first = _example(machine)
    first.kill(server="C")  # the run's own SIGKILL step
    assert not launcher.alive("C")
    # The budget is nearly spent as the example ends: its teardown restores nothing.
    herd.run_deadline = time.monotonic() + 1
    first.teardown()
    assert not launcher.alive("C")
    # The next example (or the replay) starts with a fresh model, in which every server runs.
    second = _example(machine)
    second.records_only_get_newer()  # no "C died during the stateful run"


def test_a_server_that_exits_by_itself_died_and_its_output_says_why(herd: Target) -> None:
    launcher = herd.launcher
    assert launcher is not None
    example = _example(build_machine(herd))
    address = herd.config.address("B")
    exchange(address.host, address.port, b"crash\n", timeout_s=5)
    wait_until(lambda: not launcher.alive("B"), deadline_s=10)
    with pytest.raises(HerdViolation) as raised:
        example.records_only_get_newer()
    (violation,) = raised.value.violations
    assert violation.clause == "ERR-4"
    assert violation.message.startswith("B died during the stateful run (exit status 1;")
    assert "RuntimeError: told to crash" in violation.message
