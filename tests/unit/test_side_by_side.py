"""checker/side_by_side.py: servers asked side by side, answers kept in the order asked."""

from __future__ import annotations

import threading

from herdref.checker.side_by_side import ask_each


def test_every_server_is_asked_at_once_and_answers_come_back_in_the_order_asked() -> None:
    names = ["Bailey", "Bona", "Campbell", "Clark", "Jaquez"]
    # Each ask waits until all five are waiting: asked one after another, the first would wait
    # out the barrier's deadline and fail, so the answers prove the asks ran side by side.
    everyone_asking = threading.Barrier(len(names), timeout=30)

    def ask(name: str) -> str:
        everyone_asking.wait()
        return name.lower()

    answers = ask_each(names, ask)
    assert list(answers) == names
    assert list(answers.values()) == ["bailey", "bona", "campbell", "clark", "jaquez"]


def test_an_ask_that_raises_gives_its_exception_for_the_caller_to_judge() -> None:
    def ask(name: str) -> str:
        if name == "Bona":
            raise ValueError("no answer")
        return name

    answers = ask_each(["Bailey", "Bona"], ask)
    assert answers["Bailey"] == "Bailey"
    failure = answers["Bona"]
    assert isinstance(failure, ValueError)
    assert str(failure) == "no answer"


def test_one_server_is_asked_in_the_calling_thread() -> None:
    asked_in: list[threading.Thread] = []

    def ask(name: str) -> str:
        asked_in.append(threading.current_thread())
        return name

    assert ask_each(["Bailey"], ask) == {"Bailey": "Bailey"}
    assert asked_in == [threading.current_thread()]
