"""One bug: the location is validated with ``re.match``, anchored at its first octet but not at
its end, so a location with anything after the longitude ('+34.1-118.2-', an altitude
'+34.1-118.2-5.5') passes and is stored and echoed as sent (LEX-5: nothing comes after the
longitude; an altitude is no part of the location the course asks for). A student herd
matched so."""

from decimal import Decimal

from _base import LOCATION_RE, HerdServer, main


class LocationMatchedNotToEnd(HerdServer):
    def location_ok(self, location: bytes) -> bool:
        match = LOCATION_RE.match(location)  # the bug: match, not fullmatch
        if match is None:
            return False
        latitude, longitude = (Decimal(part.decode()) for part in match.groups())
        return abs(latitude) <= 90 and abs(longitude) <= 180

    def places_location(self, location: bytes) -> str:
        match = LOCATION_RE.match(location)
        assert match is not None
        latitude, longitude = (part.decode().lstrip("+") for part in match.groups())
        return f"{latitude},{longitude}"


if __name__ == "__main__":
    main(LocationMatchedNotToEnd)
