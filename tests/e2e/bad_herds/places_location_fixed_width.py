"""One bug: the Places location is cut from the stored location at a fixed width, the ten
characters of the handout's latitude ``+34.068930``, so a record stored at another valid form
(``+12-100``, ``+0.0-0.0``) is asked about at a location that is not its own (PLACES-2). The
AT line and whatever Places answers are passed on as usual."""

from _base import HerdServer, main


class FixedWidthLocation(HerdServer):
    def places_location(self, location: bytes) -> str:
        text = location.decode()
        return f"{text[:10].lstrip('+')},{text[10:].lstrip('+')}"


if __name__ == "__main__":
    main(FixedWidthLocation)
