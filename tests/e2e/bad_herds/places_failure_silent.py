"""One bug: a Places HTTP 500 or a body that is not JSON raises out of the handler: no reply,
connection dropped (PLACES-5)."""

from _base import HerdServer, main


class PlacesFailureSilent(HerdServer):
    places_errors = ()  # the bug: nothing is caught


if __name__ == "__main__":
    main(PlacesFailureSilent)
