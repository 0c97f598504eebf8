"""The HTTP providers: Nearby Search (Legacy) and Nearby Search (New) over aiohttp
(PLACES-1, PLACES-5, PLACES-7, LIMIT-6).

* PLACES-5: a transport failure, a timeout, an HTTP error without a JSON object body, a body
  that is not JSON, JSON that is not an object, or a New-API ``places`` that is not a list of
  objects raises :class:`PlacesError`; the server then answers ``? <line>``.
* PLACES-7: one HTTP session per server, created on first use; at most ``max_concurrent``
  requests in flight (a request waits at most ``timeout_s`` for a free slot, then has its own
  ``timeout_s``); identical requests in flight share one HTTP call (legacy: whatever their
  bounds, as the bound is not sent); an optional cache of ``cache_ttl_s`` seconds for answers
  that are not errors. A shared or cached answer is still cut to each request's own bound.
* LIMIT-6: an answer is read in chunks, never past ``max_response_bytes``, and a large one is
  parsed in a worker thread.

aiohttp is imported only when the first HTTP request is made, so a server using the fixture
never loads it and starts listening fast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import herdref
from herdref.places.answer import cut_to_bound, empty_answer, legacy_from_new, new_places, render_json
from herdref.places.request import (
    FIELD_MASK,
    NEW_PATH,
    ApiKey,
    JsonObject,
    PlacesError,
    legacy_request_url,
    new_request_body,
    radius_metres,
    redact_strings,
)

if TYPE_CHECKING:
    import aiohttp

    from herdref.herd.config import PlacesSettings, PlacesShape
    from herdref.herd.node import PlacesLookup

__all__ = ["LegacyPlacesClient", "NewPlacesClient", "user_agent"]

logger = logging.getLogger(__name__)

_CACHE_MAX_ENTRIES: Final = 10_000
#: LIMIT-6: Google's answer is read in chunks of this size, and parsed on the event loop only up
#: to this size (a 20-place answer is 10-60 KB); a larger one is parsed in a worker thread.
_READ_CHUNK_BYTES: Final = 65_536
_PARSE_ON_LOOP_MAX_BYTES: Final = 131_072


def user_agent(server: str) -> str:
    """``herdref/VERSION (SERVER)``: the package's version (from its metadata, read with the
    first request, not at start-up) and the server that asks."""
    return f"herdref/{herdref.__version__} ({server})"


@dataclasses.dataclass(frozen=True, slots=True)
class _Call:
    """One HTTP request to Google. ``shared_by`` is what identical requests have in common."""

    method: str
    url: str
    #: The URL as it may be logged (PLACES-6).
    shown_url: str
    headers: Mapping[str, str]
    body: bytes | None
    shared_by: tuple[object, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Answer:
    http_status: int
    document: JsonObject


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


class _HttpPlacesClient:
    """What both Google providers share: the session, the cap, coalescing and the cache."""

    label = "Places"

    def __init__(
        self,
        *,
        base_url: str,
        key: ApiKey | None,
        settings: PlacesSettings,
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._settings = settings
        self._name = name
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._semaphore = asyncio.Semaphore(max(1, settings.max_concurrent))
        self._in_flight: dict[tuple[object, ...], asyncio.Task[_Answer]] = {}
        self._cache: dict[tuple[object, ...], tuple[float, _Answer]] = {}
        #: HTTP requests sent so far (for tests and the benchmark).
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, key={self._key!r})"

    # -- the provider-specific parts --

    def _call(self, lookup: PlacesLookup) -> _Call:
        raise NotImplementedError

    def _shape(self, answer: _Answer, lookup: PlacesLookup) -> JsonObject:
        raise NotImplementedError

    def _cacheable(self, answer: _Answer) -> bool:
        return 200 <= answer.http_status < 300

    def _empty(self) -> JsonObject:
        return empty_answer("legacy")

    # -- the shared parts --

    async def nearby(self, lookup: PlacesLookup) -> bytes:
        if lookup.bound == 0:
            return render_json(self._empty())
        call = self._call(lookup)
        answer = self._cached(call.shared_by)
        if answer is None:
            task = self._in_flight.get(call.shared_by)
            if task is None:
                task = asyncio.get_running_loop().create_task(self._fetch_and_remember(call))
                self._in_flight[call.shared_by] = task
                task.add_done_callback(functools.partial(self._forget, call.shared_by))
            # shield: one waiter giving up (its client left) must not cancel the others' call.
            answer = await asyncio.shield(task)
        return render_json(self._shape(answer, lookup))

    async def aclose(self) -> None:
        for task in list(self._in_flight.values()):
            task.cancel()
        self._in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _cached(self, shared_by: tuple[object, ...]) -> _Answer | None:
        if self._settings.cache_ttl_s <= 0:
            return None
        entry = self._cache.get(shared_by)
        if entry is None:
            return None
        expires_at, answer = entry
        if self._clock() >= expires_at:
            del self._cache[shared_by]
            return None
        return answer

    def _remember(self, shared_by: tuple[object, ...], answer: _Answer) -> None:
        now = self._clock()
        if len(self._cache) >= _CACHE_MAX_ENTRIES:
            for stale in [key for key, (expires_at, _) in self._cache.items() if expires_at <= now]:
                del self._cache[stale]
            while len(self._cache) >= _CACHE_MAX_ENTRIES:
                del self._cache[next(iter(self._cache))]
        self._cache[shared_by] = (now + self._settings.cache_ttl_s, answer)

    def _forget(self, shared_by: tuple[object, ...], task: asyncio.Task[_Answer]) -> None:
        if self._in_flight.get(shared_by) is task:
            del self._in_flight[shared_by]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have left before it failed

    async def _fetch_and_remember(self, call: _Call) -> _Answer:
        answer = await self._fetch(call)
        if self._settings.cache_ttl_s > 0 and self._cacheable(answer):
            self._remember(call.shared_by, answer)
        return answer

    def _session_in_use(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self._settings.timeout_s, connect=self._settings.connect_timeout_s
                ),
                connector=aiohttp.TCPConnector(limit=max(1, self._settings.max_concurrent)),
                headers={"User-Agent": user_agent(self._name)},
            )
        return self._session

    def _redact(self, text: str) -> str:
        return self._key.redact(text) if self._key is not None else text

    async def _fetch(self, call: _Call) -> _Answer:
        """Send ``call``; any failure becomes a :class:`PlacesError` (PLACES-5)."""
        import aiohttp
        from yarl import URL

        session = self._session_in_use()
        try:
            # PLACES-7: a request waits for a free slot at most timeout_s, so a hung Google
            # cannot queue WHATSATs without end behind max_concurrent stuck requests.
            async with asyncio.timeout(self._settings.timeout_s):
                await self._semaphore.acquire()
        except TimeoutError:
            raise PlacesError(
                f"{self.label}: {self._settings.max_concurrent} requests in flight and none finished "
                f"within {self._settings.timeout_s:g} s"
            ) from None
        try:
            logger.debug("%s %s", call.method, call.shown_url)
            self.requests_sent += 1
            try:
                async with session.request(
                    call.method, URL(call.url, encoded=True), headers=call.headers, data=call.body
                ) as response:
                    http_status = response.status
                    content = await self._read_bounded(response)
            except TimeoutError:
                # PLACES-6: no chained cause below; aiohttp's exceptions may carry the URL (key).
                raise PlacesError(
                    f"{self.label} {call.shown_url}: no answer within {self._settings.timeout_s:g} s"
                ) from None
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                raise PlacesError(
                    f"{self.label} {call.shown_url}: {type(exc).__name__}: {self._redact(str(exc))}"
                ) from None
        finally:
            self._semaphore.release()
        if len(content) > _PARSE_ON_LOOP_MAX_BYTES:
            # A large answer is parsed in a worker thread: the loop goes on serving meanwhile.
            document = await asyncio.to_thread(self._parse, content, http_status, call.shown_url)
        else:
            document = self._parse(content, http_status, call.shown_url)
        return _Answer(http_status, document)

    async def _read_bounded(self, response: aiohttp.ClientResponse) -> bytes:
        """LIMIT-6: the body, read in chunks and never past ``max_response_bytes``."""
        limit = self._settings.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise ValueError(f"the answer is {response.content_length} octets, over the limit of {limit}")
        chunks: list[bytes] = []
        size = 0
        while chunk := await response.content.read(_READ_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"the answer is over the limit of {limit} octets")
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse(self, content: bytes, http_status: int, shown_url: str) -> JsonObject:
        try:
            document = json.loads(content, parse_constant=_reject_constant)
        except ValueError:
            raise PlacesError(
                f"{self.label} {shown_url}: HTTP {http_status} with a body that is not JSON"
            ) from None
        if not isinstance(document, dict):
            raise PlacesError(f"{self.label} {shown_url}: HTTP {http_status} with JSON that is not an object")
        if self._key is not None:
            document = redact_strings(document, self._key)
        return cast("JsonObject", document)


class LegacyPlacesClient(_HttpPlacesClient):
    """Nearby Search (Legacy): ``GET .../nearbysearch/json``; errors are statuses in the body."""

    label = "Nearby Search (Legacy)"

    def _call(self, lookup: PlacesLookup) -> _Call:
        url = legacy_request_url(self.base_url, lookup, self._key)
        # The bound is not part of a legacy request (Google has no count parameter): requests
        # that differ only in bound share one call and each is cut to its own bound.
        shared_by = (lookup.latitude, lookup.longitude, radius_metres(lookup.radius_km))
        return _Call("GET", url, self._redact(url), {}, None, shared_by)

    def _shape(self, answer: _Answer, lookup: PlacesLookup) -> JsonObject:
        return cut_to_bound(answer.document, "results", lookup.bound)

    def _cacheable(self, answer: _Answer) -> bool:
        return answer.http_status == 200 and answer.document.get("status") in ("OK", "ZERO_RESULTS")


class NewPlacesClient(_HttpPlacesClient):
    """Nearby Search (New): ``POST /v1/places:searchNearby``; errors are HTTP codes."""

    label = "Nearby Search (New)"

    def __init__(self, *, shape: PlacesShape = "legacy", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shape: PlacesShape = shape

    def _call(self, lookup: PlacesLookup) -> _Call:
        body = new_request_body(lookup)
        headers = {"Content-Type": "application/json", "X-Goog-FieldMask": FIELD_MASK}
        if self._key is not None:
            headers["X-Goog-Api-Key"] = self._key.reveal()
        url = f"{self.base_url}{NEW_PATH}"
        # maxResultCount is part of the request, so the bound is part of what is shared.
        shared_by = (lookup.latitude, lookup.longitude, radius_metres(lookup.radius_km), lookup.bound)
        return _Call("POST", url, url, headers, json.dumps(body).encode("ascii"), shared_by)

    def _shape(self, answer: _Answer, lookup: PlacesLookup) -> JsonObject:
        if self.shape == "native":
            if 200 <= answer.http_status < 300:
                new_places(answer.document)  # PLACES-5: checked even when passed through
            return cut_to_bound(answer.document, "places", lookup.bound)
        return dict(legacy_from_new(answer.http_status, answer.document, lookup.bound))

    def _empty(self) -> JsonObject:
        return empty_answer(self.shape)
