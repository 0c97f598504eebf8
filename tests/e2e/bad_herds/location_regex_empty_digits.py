"""One bug: the location pattern lets a part without digits through (``[+-]\\d*\\.?\\d*`` twice,
a common student regex), and float() then raises on '+.', which drops the connection: an IAMAT
whose location has a sign and a point but no digit ('+.-.') gets no reply at all, where the
course asks '? <line>' for every invalid command (LEX-5, ERR-1)."""

import re

from _base import HerdServer, main

_LOOSE_LOCATION = re.compile(rb"([+-]\d*\.?\d*)([+-]\d*\.?\d*)")


class LocationRegexEmptyDigits(HerdServer):
    def location_ok(self, location: bytes) -> bool:
        match = _LOOSE_LOCATION.fullmatch(location)
        if match is None:
            return False
        latitude, longitude = (float(part) for part in match.groups())  # the bug: '+.' raises
        return abs(latitude) <= 90 and abs(longitude) <= 180


if __name__ == "__main__":
    main(LocationRegexEmptyDigits)
