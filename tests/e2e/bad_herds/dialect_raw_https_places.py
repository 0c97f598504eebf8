"""No bug: a herd that asks Places over a raw TLS socket, with a request written by hand whose
lines end in LF alone (``GET ... HTTP/1.1\\nHost: ...\\n\\n``), read to EOF. Google answers such a
request, so the fixture (reached through ``--redirect-google``) must answer it too."""

import asyncio
import json
import os
import ssl
from decimal import Decimal
from urllib.parse import urlencode

from _base import HerdServer, main

_HOST = "maps.googleapis.com"


class RawHttpsPlaces(HerdServer):
    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        query = urlencode(
            {
                "location": location,
                "radius": self.radius_param(radius),
                "key": os.environ.get("PLACES_KEY", "k"),
            }
        )
        request = (
            f"GET /maps/api/place/nearbysearch/json?{query} HTTP/1.1\nHost: {_HOST}\nConnection: close\n\n"
        )
        context = ssl.create_default_context()
        reader, writer = await asyncio.open_connection(_HOST, 443, ssl=context)
        writer.write(request.encode())
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ValueError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document


if __name__ == "__main__":
    main(RawHttpsPlaces)
