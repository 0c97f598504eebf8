"""One bug: Places is asked around lng,lat instead of lat,lng (PLACES-2)."""

from _base import HerdServer, main


class PlacesLocationSwapped(HerdServer):
    def places_location(self, location: bytes) -> str:
        latitude, longitude = super().places_location(location).split(",")
        return f"{longitude},{latitude}"


if __name__ == "__main__":
    main(PlacesLocationSwapped)
