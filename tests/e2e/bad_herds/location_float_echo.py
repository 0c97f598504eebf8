"""One bug (IAMAT-5): the location is parsed into two floats and printed back with Python's
repr, so a tiny coordinate comes back with an exponent (``+1e-05`` for ``+0.00001``), which is
no LOCATION."""

import re

from _base import HerdServer, main

_COORDINATES = re.compile(rb"([+-][0-9.]+)([+-][0-9.]+)")


class LocationFloatEcho(HerdServer):
    def echo_location(self, location: bytes) -> bytes:
        match = _COORDINATES.fullmatch(location)
        assert match is not None  # location_ok already accepted it
        latitude, longitude = (float(part) for part in match.groups())
        return f"{latitude:+}{longitude:+}".encode()


if __name__ == "__main__":
    main(LocationFloatEcho)
