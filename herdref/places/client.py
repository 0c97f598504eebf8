"""Places for WHATSAT: ask Google's Nearby Search (either API) or the offline fixture, and turn
the answer into the JSON body of the reply.

Providers (PLACES-1), chosen by ``[places] provider``:

* ``legacy``: ``GET {base}/maps/api/place/nearbysearch/json?location=LAT,LNG&radius=M&key=K``;
* ``new``: ``POST {base}/v1/places:searchNearby`` with ``X-Goog-Api-Key`` and
  ``X-Goog-FieldMask``; ``shape = "legacy"`` wraps the places in the legacy envelope,
  ``shape = "native"`` passes Google's ``{"places": [...]}`` through;
* ``fixture``: deterministic places generated in process (no network), in either shape;
* ``auto``: ``new`` when an API key is configured, else ``fixture``.

The package, one job per module:

* ``request``: the API key (PLACES-6), the requests (PLACES-2) and :class:`PlacesError`;
* ``answer``: Google's answers as the reply's JSON (PLACES-3, PLACES-4, WHATSAT-6);
* ``google``: the two HTTP providers: session, cap, coalescing, cache, bounded reads
  (PLACES-5, PLACES-7, LIMIT-6); aiohttp is imported only when the first request is made, so a
  server on the fixture never loads it and starts listening fast;
* this module: what the server sees (:class:`PlacesClient`, :func:`make_places_client`) and the
  offline provider; it re-exports the names tests and tools use.

Exceptions: :class:`PlacesError` is the only one that leaves :meth:`PlacesClient.nearby`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from herdref.herd.config import ConfigError, PlacesSettings, PlacesShape
from herdref.places.answer import empty_answer, legacy_from_new, render_json, rendered_item
from herdref.places.google import LegacyPlacesClient, NewPlacesClient
from herdref.places.request import (
    DEFAULT_BASE_URLS,
    FIELD_MASK,
    FIELD_MASK_FIELDS,
    ApiKey,
    PlacesError,
    legacy_request_url,
    load_api_key,
    new_request_body,
    radius_metres,
)

if TYPE_CHECKING:
    from herdref.herd.node import PlacesLookup
    from herdref.places.answer import Rendered

__all__ = [
    "DEFAULT_BASE_URLS",
    "FIELD_MASK",
    "FIELD_MASK_FIELDS",
    "ApiKey",
    "FixturePlacesClient",
    "LegacyPlacesClient",
    "NewPlacesClient",
    "PlacesClient",
    "PlacesError",
    "legacy_from_new",
    "legacy_request_url",
    "load_api_key",
    "make_places_client",
    "new_request_body",
    "radius_metres",
    "render_json",
]

logger = logging.getLogger(__name__)


class PlacesClient(Protocol):
    """What the server needs from a Places provider."""

    async def nearby(self, lookup: PlacesLookup) -> bytes:
        """The JSON body of the WHATSAT reply: cut to the bound, newlines squeezed, no trailing
        newline (WHATSAT-6).

        Raises:
            PlacesError: no usable answer (PLACES-5).
        """
        ...

    async def aclose(self) -> None:
        """Release the HTTP session, if any."""
        ...


# ---- the offline provider ----------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _fixture_items(
    latitude: str, longitude: str, radius_km: bytes, shape: PlacesShape
) -> tuple[Rendered, ...]:
    """The 20 places around a point, each rendered once: a WHATSAT then only joins the first
    ``bound`` of them (the fixture answers thousands of WHATSATs a second)."""
    # Imported at the first look-up, not at start-up: its TypedDicts cost milliseconds to build,
    # and a server must listen within half a second of starting.
    from herdref.places.fixture_data import MAX_RESULTS, generate_places, legacy_response, new_response

    radius_m = float(radius_metres(radius_km))
    places = generate_places(float(latitude), float(longitude), radius_m, count=MAX_RESULTS)
    if shape == "native":
        return tuple(
            rendered_item(place) for place in new_response(places, FIELD_MASK_FIELDS).get("places", [])
        )
    return tuple(rendered_item(result) for result in legacy_response(places)["results"])


class FixturePlacesClient:
    """Deterministic places generated in process (``provider = "fixture"``): no network."""

    def __init__(self, *, shape: PlacesShape = "legacy") -> None:
        self.shape: PlacesShape = shape

    async def nearby(self, lookup: PlacesLookup) -> bytes:
        if lookup.bound == 0:
            return render_json(empty_answer(self.shape))
        # The first ``bound`` of the same 20 places, as Google cuts one ranked list.
        items = list(
            _fixture_items(lookup.latitude, lookup.longitude, lookup.radius_km, self.shape)[: lookup.bound]
        )
        if self.shape == "native":
            return render_json({"places": items} if items else {})
        status = "OK" if items else "ZERO_RESULTS"
        return render_json({"html_attributions": [], "results": items, "status": status})

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"FixturePlacesClient(shape={self.shape!r})"


# ---- choosing a provider (PLACES-1) -----------------------------------------------------


def _checked_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"places base URL {base_url!r} is not an http(s) URL with a host")
    return base_url.rstrip("/")


def make_places_client(
    settings: PlacesSettings,
    *,
    name: str,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PlacesClient:
    """The provider ``settings`` ask for (PLACES-1); ``name`` is the server, for the User-Agent.

    Raises:
        ConfigError: the key file cannot be read, or the base URL is not an http(s) URL.
    """
    key = load_api_key(settings, environ)
    provider = settings.provider
    if provider == "auto":
        provider = "new" if key is not None else "fixture"
    if provider == "fixture":
        return FixturePlacesClient(shape=settings.shape)
    base_url = _checked_base_url(settings.base_url or DEFAULT_BASE_URLS[provider])
    if key is None:
        source = settings.api_key_file or f"${settings.api_key_env}"
        logger.warning("no Places API key in %s: Google will answer REQUEST_DENIED", source)
    if provider == "legacy":
        return LegacyPlacesClient(base_url=base_url, key=key, settings=settings, name=name, clock=clock)
    return NewPlacesClient(
        shape=settings.shape, base_url=base_url, key=key, settings=settings, name=name, clock=clock
    )
