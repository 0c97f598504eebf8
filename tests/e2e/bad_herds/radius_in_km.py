"""One bug: the radius goes to Places in kilometres, not metres (PLACES-2)."""

from decimal import Decimal

from _base import HerdServer, main


class RadiusInKm(HerdServer):
    def radius_param(self, radius_km: Decimal) -> str:
        return str(radius_km)


if __name__ == "__main__":
    main(RadiusInKm)
