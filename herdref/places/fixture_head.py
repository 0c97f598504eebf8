"""The head of the Places fixture's answers: Google's fields in Google's order
(:mod:`herdref.places.fixture_app` states the rule and its source)."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE

__all__ = ["google_head"]


#: The head maps.googleapis.com sends with a JSON answer (a raw HTTP/1.1 capture of a Maps web
#: service reply, ``Server: mafe``, quoted in the module's rules), in its order, without the
#: fields that name Google's own network (``Alt-Svc``, ``Server-Timing``).
_GOOGLE_HEAD: Final = (
    ("Pragma", "no-cache"),
    ("Expires", "Fri, 01 Jan 1990 00:00:00 GMT"),
    ("Cache-Control", "no-cache, must-revalidate"),
    ("Access-Control-Allow-Origin", "*"),
    ("Server", "mafe"),
    ("X-XSS-Protection", "0"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Accept-Ranges", "none"),
    ("Vary", "Accept-Language,Accept-Encoding"),
)


def google_head(response: web.StreamResponse, *, legacy: bool) -> None:
    """Google's header order: Content-Type, Date, then (Legacy) the fields Google sends, so that
    the framing header aiohttp adds (``Transfer-Encoding``, or ``Content-Length``) comes last."""
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("application/json"):
        content_type = "application/json; charset=UTF-8"
    headers = response.headers
    kept = [(name, value) for name, value in headers.items() if name.lower() != "content-type"]
    headers.clear()
    headers["Content-Type"] = content_type
    headers["Date"] = rfc822_formatted_time()
    # The New API's head is not on record: only its order is Google's (the framing header last).
    for name, value in _GOOGLE_HEAD if legacy else (("Server", SERVER_SOFTWARE),):
        headers[name] = value
    headers.extend(kept)
