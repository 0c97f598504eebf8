"""A replay confirms a silence its first attempt already waited out: where the first attempt
waited the whole reply timeout for nothing on a connection the server left open, the replay
waits ``Target.replay_silence_s`` (a herd whose handler dies on a line cost two timeouts per
failing check, and a student herd had 24 checks SKIPPED for the run's budget)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from herdref.checker.checks.registry import Check
from herdref.checker.runner import run_check
from herdref.checker.target import CheckContext, CheckFailed, Target
from herdref.herd.config import parse_config


@pytest.fixture
def target() -> Iterator[Target]:
    """One server that accepts connections (the backlog does) and never answers or closes."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        config = parse_config(f"[servers]\nA = {{ port = {port} }}\n")
        yield Target(config=config, timeout_s=3.0, replay_silence_s=0.2, check_budget_s=30)


def _silent_check() -> Check:
    def run(context: CheckContext) -> None:
        reply = context.raw("A", b"IAMAT c +1+1 x\n")
        if not reply.data:
            raise CheckFailed("no reply", expected="'? <line>'", seen="nothing")

    return Check("invalid-time", "ERR-1", "MUST", "t", run)  # type: ignore[arg-type]


def test_the_replay_of_a_silent_wait_is_short_and_still_fails(target: Target) -> None:
    outcome = run_check(target, _silent_check())
    assert outcome.verdict == "FAIL"
    # One whole timeout (3 s) and a short replay (0.2 s), not two timeouts (6 s).
    assert 3.0 <= outcome.duration_s < 3.0 + 2.0
