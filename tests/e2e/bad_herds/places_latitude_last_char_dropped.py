"""One bug: the Places location drops the last character of the latitude (a student herd's
slice that was one short: '+34.5' is asked about as '34.'), so a record whose latitude's last
digit is not 0 is asked about elsewhere (PLACES-2). The AT line and whatever Places answers
are passed on as usual."""

from _base import LOCATION_RE, HerdServer, main


class LatitudeLastCharDropped(HerdServer):
    def places_location(self, location: bytes) -> str:
        latitude, longitude = (part.decode().lstrip("+") for part in LOCATION_RE.fullmatch(location).groups())
        return f"{latitude[:-1]},{longitude}"


if __name__ == "__main__":
    main(LatitudeLastCharDropped)
