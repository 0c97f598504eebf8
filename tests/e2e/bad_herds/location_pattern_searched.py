"""One bug: the location is validated with ``re.search``, not matched from its first octet, so
a location with something before the latitude's sign ('5+34.1-118.2') passes and is stored
and echoed as sent (LEX-5: nothing comes before the sign; no reading of ISO 6709 takes it).
Student herds searched for the pattern."""

from decimal import Decimal

from _base import LOCATION_RE, HerdServer, main


class LocationPatternSearched(HerdServer):
    def location_ok(self, location: bytes) -> bool:
        match = LOCATION_RE.search(location)  # the bug: search, not fullmatch
        if match is None or match.end() != len(location):
            return False
        latitude, longitude = (Decimal(part.decode()) for part in match.groups())
        return abs(latitude) <= 90 and abs(longitude) <= 180

    def places_location(self, location: bytes) -> str:
        # The part the pattern found is what goes to Places (the herd never looks further).
        match = LOCATION_RE.search(location)
        assert match is not None
        latitude, longitude = (part.decode().lstrip("+") for part in match.groups())
        return f"{latitude},{longitude}"


if __name__ == "__main__":
    main(LocationPatternSearched)
