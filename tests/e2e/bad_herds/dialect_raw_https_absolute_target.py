"""No bug: a herd that asks Places over a raw TLS socket with a hand-written HTTP/1.1 request
whose target is the whole URL (``GET https://maps.googleapis.com/...?... HTTP/1.1``) and that
has no Host field, read to EOF. Google answers it (RFC 9112 section 3.2.2: the target's host is
used), so the fixture (reached through ``--redirect-google``) must answer it too."""

import asyncio
import json
import os
import ssl
from decimal import Decimal
from urllib.parse import urlencode

from _base import main
from dialect_raw_https_places import _HOST, RawHttpsPlaces


class RawHttpsAbsoluteTarget(RawHttpsPlaces):
    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        query = urlencode(
            {
                "location": location,
                "radius": self.radius_param(radius),
                "key": os.environ.get("PLACES_KEY", "k"),
            }
        )
        target = f"https://{_HOST}/maps/api/place/nearbysearch/json?{query}"
        request = f"GET {target} HTTP/1.1\r\nConnection: close\r\n\r\n"
        reader, writer = await asyncio.open_connection(_HOST, 443, ssl=ssl.create_default_context())
        writer.write(request.encode())
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        body = answer[answer.index(b"{") : answer.rindex(b"}") + 1]  # the JSON, whatever the head
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document


if __name__ == "__main__":
    main(RawHttpsAbsoluteTarget)
