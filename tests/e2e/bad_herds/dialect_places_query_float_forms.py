"""Dialect, no bug the course can see: the Places request writes the radius as a float
('10000.0') and keeps the location's '+' ('+34.068930,-118.445127'), which Google reads as the
same numbers; PLACES-2's strict part asks the client's digits, no '+', and an integer radius
(a student herd wrote str(float(radius) * 1000) and the location as stored)."""

from decimal import Decimal

from _base import LOCATION_RE, HerdServer, main


class PlacesQueryFloatForms(HerdServer):
    def radius_param(self, radius_km: Decimal) -> str:
        return str(float(radius_km) * 1000)

    def places_location(self, location: bytes) -> str:
        latitude, longitude = (part.decode() for part in LOCATION_RE.fullmatch(location).groups())
        return f"{latitude},{longitude}"


if __name__ == "__main__":
    main(PlacesQueryFloatForms)
