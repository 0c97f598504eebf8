"""One bug: a Places answer whose status is not OK (ZERO_RESULTS, REQUEST_DENIED...) gets '?'
instead of being passed through (PLACES-3)."""

from _base import HerdServer, main


class PlacesErrorStatusRefused(HerdServer):
    def places_ok(self, body: dict[str, object]) -> bool:
        return body.get("status") == "OK"


if __name__ == "__main__":
    main(PlacesErrorStatusRefused)
