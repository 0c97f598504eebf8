"""Flooding cost: the AT messages the herd's own logs record for a run, and the bound one update
costs when flooded through a connected herd (``herdref.model.flooding_bound``)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from herdref import model

if TYPE_CHECKING:
    from herdref.herd.config import HerdConfig

__all__ = ["count_log_lines", "flooding_bound", "wait_for_quiet_logs"]


def flooding_bound(config: HerdConfig) -> int | None:
    """AT messages one update costs when flooded through the herd (FLOOD-1, FLOOD-3), or None
    when the herd is not connected: the bound then depends on where the update starts."""
    links = [model.link(*sorted(pair)) for pair in config.links]
    try:
        return model.flooding_bound(config.servers, links)
    except ValueError:  # not connected
        return None


def count_log_lines(paths: Iterable[Path], kind: bytes, since_wall: float, until_wall: float) -> int:
    """How many ``<time> <kind> ...`` lines the logs hold with a time in the window."""
    total = 0
    for path in paths:
        try:
            with path.open("rb") as log:
                for line in log:
                    stamp, _, rest = line.partition(b" ")
                    if not rest.startswith(kind + b" "):
                        continue
                    try:
                        when = float(stamp)
                    except ValueError:
                        continue
                    if since_wall <= when <= until_wall:
                        total += 1
        except FileNotFoundError:
            continue
    return total


def wait_for_quiet_logs(paths: Sequence[Path], *, quiet_s: float = 0.3, deadline_s: float = 5.0) -> None:
    """Wait until the log files stop growing (floods settled and flushed), or the deadline."""

    def sizes() -> list[int]:
        return [path.stat().st_size if path.exists() else 0 for path in paths]

    give_up = time.monotonic() + deadline_s
    last = sizes()
    last_change = time.monotonic()
    while time.monotonic() < give_up:
        time.sleep(0.05)  # polling interval while watching the files
        now = sizes()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            return
