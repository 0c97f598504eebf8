"""No bug: a herd that asks Places over a raw TLS socket with a hand-written HTTP/1.1 request
that keeps the connection, reads until what it holds ends with an empty line, and reads the
chunked body by finding the word ``chunked`` in the head and taking the chunk sizes right after
it. That works on Google, whose head ends with ``Transfer-Encoding: chunked``, so the fixture
(reached through ``--redirect-google``) must end its head the same way."""

import asyncio
import json
import os
import ssl
from decimal import Decimal
from urllib.parse import urlencode

from _base import HerdServer, main

_HOST = "maps.googleapis.com"


def body_after_chunked(answer: bytes) -> bytes:
    """The body of a chunked answer, read from right after the word 'chunked'."""
    rest = answer[answer.index(b"chunked") + len(b"chunked") :].strip()
    body = b""
    while rest:
        size_text, _, rest = rest.partition(b"\r\n")
        size = int(size_text, 16)  # ValueError if anything but the size follows 'chunked'
        body, rest = body + rest[:size], rest[size:].lstrip(b"\r\n")
    return body


class ChunkAfterWord(HerdServer):
    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        query = urlencode(
            {
                "location": location,
                "radius": self.radius_param(radius),
                "key": os.environ.get("PLACES_KEY", "k"),
            }
        )
        request = f"GET /maps/api/place/nearbysearch/json?{query} HTTP/1.1\r\nHost: {_HOST}\r\n\r\n"
        reader, writer = await asyncio.open_connection(_HOST, 443, ssl=ssl.create_default_context())
        try:
            writer.write(request.encode())
            answer = b""
            # Done when what is held ends with an empty line: the chunked body's last, '0' CRLF CRLF.
            while not answer.endswith(b"0\r\n\r\n"):
                more = await asyncio.wait_for(reader.read(65536), 5)
                if not more:
                    break
                answer += more
        finally:
            writer.close()
        if not answer.startswith(b"HTTP/1.1 200"):
            raise ValueError(answer.split(b"\r\n", 1)[0].decode(errors="replace"))
        document = json.loads(body_after_chunked(answer))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        return document


if __name__ == "__main__":
    main(ChunkAfterWord)
