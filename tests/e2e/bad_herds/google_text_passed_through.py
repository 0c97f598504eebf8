"""One bug: when Google's answer holds no more places than the bound, the herd passes Google's
text on as it came, its trailing newlines stripped but runs of newlines inside it kept, so an
answer with empty lines in it reaches the client with them (WHATSAT-6: the course has every run
of newlines made one). Only an answer it must cut is parsed and written again (a student herd's
shortcut). places-newlines-squeezed names it."""

import json
import os
from decimal import Decimal

from _base import HerdServer, main, places_call


class GoogleTextPassedThrough(HerdServer):
    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        session = self.places_session()
        params = {
            "location": location,
            "radius": self.radius_param(radius),
            "key": os.environ.get("PLACES_KEY", "k"),
        }
        url = f"{self.places_url}/maps/api/place/nearbysearch/json"
        async with places_call(), session.get(url, params=params) as response:
            text = await response.text()
        body = json.loads(text)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        body["__text__"] = text  # kept for the reply below
        return body

    def truncate(self, results: list[object], bound: int) -> list[object]:
        self.cut = len(results) > bound
        return results[:bound]

    def format_json(self, body: dict[str, object]) -> bytes:
        text = body.pop("__text__", None)
        if isinstance(text, str) and not self.__dict__.pop("cut", True):
            return text.rstrip("\n").encode()  # the bug: Google's own newlines kept
        return super().format_json(body)


if __name__ == "__main__":
    main(GoogleTextPassedThrough)
