"""What a benchmark run is made of: the servers it targets, its settings, the counts and
samples it collects, and the client times its IAMATs carry."""

from __future__ import annotations

import dataclasses
import time
from array import array
from typing import Final

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_WORKERS",
    "LOCATION",
    "NANOS",
    "ClientTime",
    "LoadResult",
    "LoadSettings",
    "PropagationResult",
    "ServerCounts",
    "Target",
]

DEFAULT_WORKERS: Final = 2
#: Where every load and probe client says it is (any valid location will do, IAMAT-2).
LOCATION: Final = b"+34.068930-118.445127"
NANOS: Final = 1_000_000_000
CONNECT_TIMEOUT_S: Final = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One server to put load on."""

    name: str
    host: str
    port: int


@dataclasses.dataclass(frozen=True, slots=True)
class LoadSettings:
    connections: int = 10
    whatsat_ratio: float = 0.0
    whatsat_radius: bytes = b"10"
    whatsat_bound: int = 0
    pipeline: int = 1
    #: Stop after this many seconds, or after ``requests`` requests, whichever is set.
    duration_s: float | None = 5.0
    requests: int | None = None
    workers: int = DEFAULT_WORKERS
    #: "auto" (uvloop when installed), "asyncio" or "uvloop"; for the load generator only.
    loop: str = "auto"
    #: Prefix of the client IDs, so concurrent runs do not share clients.
    client_prefix: str = ""
    seed: int = 1
    #: Requests per second over all connections (paced), or None for as fast as replies come.
    rate_per_s: float | None = None


@dataclasses.dataclass(slots=True)
class ServerCounts:
    """What one server answered (merged over workers)."""

    iamat: int = 0
    whatsat: int = 0
    errors: int = 0
    latencies_ns: array[int] = dataclasses.field(default_factory=lambda: array("q"))

    @property
    def requests(self) -> int:
        return self.iamat + self.whatsat + self.errors


@dataclasses.dataclass(slots=True)
class LoadResult:
    settings: LoadSettings
    elapsed_s: float
    by_server: dict[str, ServerCounts]
    connection_errors: int
    #: Monotonic start and end of the load, and their wall-clock (time.time) equivalents.
    started_wall: float
    ended_wall: float

    @property
    def requests(self) -> int:
        return sum(counts.requests for counts in self.by_server.values())

    @property
    def iamat(self) -> int:
        return sum(counts.iamat for counts in self.by_server.values())

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclasses.dataclass(slots=True)
class PropagationResult:
    samples_ns: list[int] = dataclasses.field(default_factory=list)
    incomplete: int = 0
    polls: int = 0
    poll_interval_s: float = 0.0005
    #: Why probing stopped early, if it did.
    error: str | None = None


class ClientTime:
    """Strictly increasing client times (POSIX seconds, nine decimals), so every IAMAT is
    newer than the last one of its client (FLOOD-2)."""

    __slots__ = ("_last_ns",)

    def __init__(self) -> None:
        self._last_ns = 0

    def next(self) -> bytes:
        now_ns = max(time.time_ns(), self._last_ns + 1)
        self._last_ns = now_ns
        return b"%d.%09d" % divmod(now_ns, NANOS)
