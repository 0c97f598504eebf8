"""Dialect, no bug: Places through Nearby Search (New), its JSON passed through ({"places": [...]}
cut to the bound); an HTTP error from Google (429 over quota, 403, 500) is answered '? <line>'
instead of passing Google's error JSON through (PLACES-3 strict; the course never met the New
API, and '?' on an HTTP error is what students do: protocol notes A12)."""

import os
from decimal import Decimal

from _base import HerdServer, main, places_call


class NewApiErrorRefused(HerdServer):
    bound = 20

    async def places(self, location: str, radius: Decimal) -> dict[str, object]:
        session = self.places_session()
        latitude, longitude = (float(part) for part in location.split(","))
        payload = {
            "maxResultCount": 20,
            "locationRestriction": {
                "circle": {
                    "center": {"latitude": latitude, "longitude": longitude},
                    "radius": float(radius * 1000),
                }
            },
        }
        headers = {"X-Goog-Api-Key": os.environ.get("PLACES_KEY", "k"), "X-Goog-FieldMask": "*"}
        url = f"{self.places_url}/v1/places:searchNearby"
        async with places_call(), session.post(url, json=payload, headers=headers) as response:
            if response.status != 200:
                raise ValueError(f"Places answered HTTP {response.status}")  # the '?' reply
            body = await response.json(content_type=None)
        if not isinstance(body, dict) or not isinstance(body.get("places", []), list):
            raise ValueError("not a JSON object with a places list")
        return body

    def truncate(self, results: list[object], bound: int) -> list[object]:
        self.bound = bound  # the New API's places are cut in format_json
        return results

    def format_json(self, body: dict[str, object]) -> bytes:
        if "places" in body and isinstance(body["places"], list):
            body = {key: value for key, value in body.items() if key != "results"}
            body["places"] = body["places"][: self.bound]  # type: ignore[index]
        return super().format_json(body)


if __name__ == "__main__":
    main(NewApiErrorRefused)
