"""One bug: the location pattern takes a '+' latitude only ('[+][0-9]...' where '[+-]' was
meant), so every location south of the equator gets '?' (LEX-5). A student herd did so; the
refusal is location-edges', named once there (echo-numeric's drawn location may be southern)."""

import re
from decimal import Decimal

from _base import HerdServer, main

NORTHERN_RE = re.compile(rb"(\+[0-9]{1,3}(?:\.[0-9]+)?)([+-][0-9]{1,3}(?:\.[0-9]+)?)")


class NegativeLatitudeRefused(HerdServer):
    def location_ok(self, location: bytes) -> bool:
        match = NORTHERN_RE.fullmatch(location)
        if match is None:
            return False
        latitude, longitude = (Decimal(part.decode()) for part in match.groups())
        return abs(latitude) <= 90 and abs(longitude) <= 180


if __name__ == "__main__":
    main(NegativeLatitudeRefused)
