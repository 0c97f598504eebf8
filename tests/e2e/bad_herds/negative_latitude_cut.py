"""One bug: the Places centre of a location whose latitude is negative loses the latitude's last
character (a student's slicing that skips one character too many when the sign is '-'), so
Places is asked elsewhere for a client south of the equator whose latitude's last digit is not
0; north of it every request is right (PLACES-2: the request is centred on the stored
location)."""

from _base import HerdServer, main


class NegativeLatitudeCut(HerdServer):
    def places_location(self, location: bytes) -> str:
        latitude, _, longitude = super().places_location(location).partition(",")
        if latitude.startswith("-"):
            latitude = latitude[:-1]  # the bug
        return f"{latitude},{longitude}"


if __name__ == "__main__":
    main(NegativeLatitudeCut)
