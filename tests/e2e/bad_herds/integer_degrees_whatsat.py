"""One bug: WHATSAT parses the stored location with a pattern that needs a fraction, so a record
like +34-118 crashes it (WHATSAT-5)."""

import re

from _base import HerdServer, main


class IntegerDegreesWhatsat(HerdServer):
    def places_location(self, location: bytes) -> str:
        match = re.fullmatch(rb"([+-][0-9]+\.[0-9]+)([+-][0-9]+\.[0-9]+)", location)
        latitude, longitude = match.groups()  # AttributeError for integer degrees
        return f"{latitude.decode().lstrip('+')},{longitude.decode()}"


if __name__ == "__main__":
    main(IntegerDegreesWhatsat)
