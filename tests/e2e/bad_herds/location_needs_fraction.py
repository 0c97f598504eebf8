"""One bug: the location pattern requires a fraction, so +34-118 (integer degrees) is refused (LEX-5)."""

import re

from _base import HerdServer, main


class LocationNeedsFraction(HerdServer):
    def location_ok(self, location: bytes) -> bool:
        with_fraction = re.fullmatch(rb"[+-][0-9]+\.[0-9]+[+-][0-9]+\.[0-9]+", location)
        return with_fraction is not None and super().location_ok(location)


if __name__ == "__main__":
    main(LocationNeedsFraction)
