"""One bug: the radius limit is exclusive, so a 50 km radius is refused (WHATSAT-2)."""

from decimal import Decimal

from _base import HerdServer, main


class RadiusLimitExclusive(HerdServer):
    def radius_ok(self, radius: Decimal) -> bool:
        return 0 < radius < 50


if __name__ == "__main__":
    main(RadiusLimitExclusive)
