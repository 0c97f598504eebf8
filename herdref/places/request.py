"""Building requests to Google's Nearby Search, and the API key they carry (PLACES-2, PLACES-6).

* PLACES-2: the radius goes to Google in metres, computed exactly (``km * 1000`` in decimal);
  the location as plain decimals with no ``+`` (in a query string ``+`` means a space).
* PLACES-6: the API key comes from the environment or a file, never the command line, and
  never appears in a log line, a reply, an exception message or a repr.

:class:`PlacesError` (PLACES-5) lives here, at the bottom of the package, so every module of
it can raise it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Context, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from herdref.herd.config import ConfigError, PlacesSettings

if TYPE_CHECKING:
    from herdref.herd.node import PlacesLookup

__all__ = [
    "DEFAULT_BASE_URLS",
    "FIELD_MASK",
    "FIELD_MASK_FIELDS",
    "LEGACY_PATH",
    "NEW_PATH",
    "ApiKey",
    "JsonObject",
    "PlacesError",
    "legacy_request_url",
    "load_api_key",
    "new_request_body",
    "radius_metres",
    "redact_strings",
]

DEFAULT_BASE_URLS: Final[Mapping[str, str]] = {
    "legacy": "https://maps.googleapis.com",
    "new": "https://places.googleapis.com",
}
LEGACY_PATH: Final = "/maps/api/place/nearbysearch/json"
NEW_PATH: Final = "/v1/places:searchNearby"

#: The Place fields asked of Nearby Search (New): the ones a legacy Nearby Search result
#: carries (see :func:`legacy_from_new`). rating, userRatingCount, priceLevel and
#: currentOpeningHours put the request in Google's "Enterprise" billing tier; they are what the
#: legacy API returned, which WHATSAT clients expect.
FIELD_MASK_FIELDS: Final = (
    "id",
    "displayName",
    "location",
    "viewport",
    "shortFormattedAddress",
    "formattedAddress",
    "types",
    "businessStatus",
    "rating",
    "userRatingCount",
    "priceLevel",
    "currentOpeningHours",
    "plusCode",
    "iconBackgroundColor",
    "iconMaskBaseUri",
)
FIELD_MASK: Final = ",".join(
    f"places.{field}.openNow" if field == "currentOpeningHours" else f"places.{field}"
    for field in FIELD_MASK_FIELDS
)

_REDACTED: Final = "<redacted>"

JsonObject = dict[str, Any]


class PlacesError(Exception):
    """Places gave no usable answer (PLACES-5). The message never holds the API key."""


# ---- the API key (PLACES-6) --------------------------------------------------------------


class ApiKey:
    """The API key, kept out of reprs and strings; :meth:`redact` scrubs it from text."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def reveal(self) -> str:
        """The key itself, for the one place it must go: the request to Google."""
        return self._secret

    def redact(self, text: str) -> str:
        """``text`` with the key (as is, and as it looks URL-encoded) replaced."""
        for form in {self._secret, quote(self._secret, safe=""), quote(self._secret)}:
            text = text.replace(form, _REDACTED)
        return text

    def __repr__(self) -> str:
        return f"ApiKey({_REDACTED})"

    __str__ = __repr__


def load_api_key(settings: PlacesSettings, environ: Mapping[str, str] | None = None) -> ApiKey | None:
    """The key from ``api_key_file`` when one is configured, else from the environment
    variable ``api_key_env``; None when neither holds one.

    Raises:
        ConfigError: the key file cannot be read.
    """
    environ = os.environ if environ is None else environ
    if settings.api_key_file is not None:
        try:
            secret = Path(settings.api_key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"cannot read places.api_key_file {settings.api_key_file}: {reason}") from None
    else:
        secret = environ.get(settings.api_key_env, "").strip()
    return ApiKey(secret) if secret else None


def redact_strings(value: Any, key: ApiKey) -> Any:
    """``value`` (parsed JSON) with the key scrubbed from every string, keys included."""
    if isinstance(value, str):
        return key.redact(value)
    if isinstance(value, list):
        return [redact_strings(item, key) for item in value]
    if isinstance(value, dict):
        return {key.redact(name): redact_strings(item, key) for name, item in value.items()}
    return value


# ---- building requests (PLACES-2) --------------------------------------------------------


def radius_metres(radius_km: bytes) -> Decimal:
    """The WHATSAT radius in metres, exactly (``b"10.5"`` gives ``Decimal("10500")``)."""
    kilometres = Decimal(radius_km.decode("ascii"))
    # A context wide enough that shifting the decimal point never rounds.
    metres = kilometres.scaleb(3, context=Context(prec=len(radius_km) + 8))
    return metres.normalize(context=Context(prec=len(radius_km) + 8))


def _metres_text(metres: Decimal) -> str:
    """An integer when the radius is whole (``10000``), else plain decimals (``10.5``)."""
    if metres == metres.to_integral_value():
        return str(int(metres))
    return format(metres, "f")


def _metres_number(metres: Decimal) -> int | float:
    return int(metres) if metres == metres.to_integral_value() else float(metres)


def legacy_request_url(base_url: str, lookup: PlacesLookup, key: ApiKey | None) -> str:
    """The Nearby Search (Legacy) URL, fully percent-encoded (``,`` as ``%2C``, ``+`` as ``%2B``).
    Without a key the ``key`` parameter is left out (Google then answers REQUEST_DENIED)."""
    params = {
        "location": f"{lookup.latitude},{lookup.longitude}",
        "radius": _metres_text(radius_metres(lookup.radius_km)),
    }
    if key is not None:
        params["key"] = key.reveal()
    return f"{base_url.rstrip('/')}{LEGACY_PATH}?{urlencode(params, quote_via=quote, safe='')}"


def new_request_body(lookup: PlacesLookup) -> JsonObject:
    """The Nearby Search (New) request body: a circle in metres, at most ``bound`` places."""
    return {
        "locationRestriction": {
            "circle": {
                "center": {"latitude": float(lookup.latitude), "longitude": float(lookup.longitude)},
                "radius": _metres_number(radius_metres(lookup.radius_km)),
            }
        },
        "maxResultCount": lookup.bound,
    }
