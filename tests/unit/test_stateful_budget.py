"""The stateful run ends at the run's time budget whatever the herd does (issue 11): a step
in flight when the budget runs out has its waits cut there, and that is "cut short", not a
FLAKY or a failure of the herd; a run that got no reply before the budget ran out judged
nothing, so it is UNSUPPORTED, never PASS."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from herdref.checker.machine import build_machine
from herdref.checker.stateful_run import run_stateful
from herdref.checker.target import Target
from herdref.herd.config import parse_config

pytest.importorskip("hypothesis")


@pytest.fixture
def silent_ports() -> Iterator[list[int]]:
    """Two loopback listeners that accept connections and never answer (a herd busy with a
    storm, as the checker sees it)."""
    stop = threading.Event()
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    held: list[socket.socket] = []

    def accept(listener: socket.socket) -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)

    threads = [threading.Thread(target=accept, args=(listener,), daemon=True) for listener in listeners]
    for thread in threads:
        thread.start()
    yield [int(listener.getsockname()[1]) for listener in listeners]
    stop.set()
    for thread in threads:
        thread.join(5)
    for connection in [*held, *listeners]:
        connection.close()


def test_a_step_waiting_on_a_silent_herd_is_cut_at_the_run_budget(silent_ports: list[int]) -> None:
    a, b = silent_ports
    config = parse_config(
        f'[servers]\nA = {{ port = {a} }}\nB = {{ port = {b} }}\n[links]\npairs = [["A", "B"]]\n'
    )
    # The reply timeout is far past the budget: only the budget can end the run in time.
    target = Target(config=config, timeout_s=600, propagation_s=600)
    target.run_deadline = time.monotonic() + 10
    outcome = run_stateful(target, profile="quick", examples=1)
    # Cut at the budget, and never a PASS: the herd never answered, so nothing was judged.
    assert outcome.verdict == "UNSUPPORTED", outcome
    assert outcome.budget_spent
    assert "before the stateful run got a reply" in outcome.summary


def test_a_run_whose_budget_is_spent_before_it_starts_is_unsupported_not_passed(
    silent_ports: list[int],
) -> None:
    a, b = silent_ports
    config = parse_config(
        f'[servers]\nA = {{ port = {a} }}\nB = {{ port = {b} }}\n[links]\npairs = [["A", "B"]]\n'
    )
    target = Target(config=config, timeout_s=600, propagation_s=600)
    target.run_deadline = time.monotonic()
    outcome = run_stateful(target, profile="quick", examples=1)
    assert outcome.verdict == "UNSUPPORTED", outcome
    assert outcome.budget_spent
    assert "(0 command(s) sent; raise --budget)" in outcome.summary


class _RestoreRecorder:
    """What the stateful run's teardown asks of a launcher, with each restore's deadline."""

    single_process = False

    def __init__(self) -> None:
        self.processes: dict[str, object] = {}
        self.restores: list[float] = []

    def ensure_all_running(self, *, deadline_s: float) -> None:
        self.restores.append(deadline_s)

    def alive(self, name: str) -> bool:
        return name in self.processes


def test_an_example_restores_the_herd_within_the_run_budget(silent_ports: list[int]) -> None:
    a, b = silent_ports
    config = parse_config(
        f'[servers]\nA = {{ port = {a} }}\nB = {{ port = {b} }}\n[links]\npairs = [["A", "B"]]\n'
    )
    target = Target(config=config, timeout_s=1, startup_s=600)
    target.launcher = launcher = _RestoreRecorder()  # type: ignore[assignment]
    target.run_deadline = time.monotonic() + 30
    build_machine(target)().teardown()
    # Cut to what is left of the run, not the full startup time.
    assert len(launcher.restores) == 1 and 0 < launcher.restores[0] <= 30, launcher.restores


class _OneLeftDown(_RestoreRecorder):
    """Both servers were started; B's process has exited (an earlier example killed it and its
    teardown had no time left to start it again)."""

    def __init__(self) -> None:
        super().__init__()
        self.processes = {"A": object(), "B": object()}

    def alive(self, name: str) -> bool:
        return name == "A"

    def crashed(self, name: str) -> bool:
        return False  # B was stopped by the run (test_stateful_deaths: a real crash is ERR-4)


def test_a_server_an_earlier_example_left_down_is_down_from_the_start_not_a_death() -> None:
    config = parse_config('[servers]\nA = { port = 1 }\nB = { port = 2 }\n[links]\npairs = [["A", "B"]]\n')
    target = Target(config=config, timeout_s=1, startup_s=1)
    target.launcher = _OneLeftDown()  # type: ignore[assignment]
    machine = build_machine(target)()
    assert machine.model.alive == {"A": True, "B": False}
    machine.records_only_get_newer()  # before the fix: ERR-4 "B died during the stateful run"
