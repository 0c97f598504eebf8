"""Asking several servers at once: a check that reads what each server of the herd holds asks
them side by side, one thread per server. Each server is its own process or listener, so none
is asked twice at once and none sees anything a sequential ask would not send it; a herd that
takes half a second per command is then read in one such wait, not one per server."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ask_each"]

_Answer = TypeVar("_Answer")


def ask_each(names: list[str], ask: Callable[[str], _Answer]) -> dict[str, _Answer | Exception]:
    """``ask(name)`` for each of ``names`` (distinct servers) side by side: what each answered,
    or the exception its ask raised (for the caller to judge or raise), in the order of
    ``names``."""
    if len(names) < 2:
        return {name: _outcome(ask, name) for name in names}
    with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="ask") as pool:
        futures = {name: pool.submit(_outcome, ask, name) for name in names}
        return {name: future.result() for name, future in futures.items()}


def _outcome(ask: Callable[[str], _Answer], name: str) -> _Answer | Exception:
    try:
        return ask(name)
    except Exception as error:
        return error
