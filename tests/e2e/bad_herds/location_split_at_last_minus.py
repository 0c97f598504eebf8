"""One bug: the stored location is cut for Places at its last '-', the longitude's sign in every
course example (+lat -long), and the latitude's sign is dropped: '-34.5-118.25' is asked for as
'34.5,-118.25', the other side of the equator (PLACES-2), and '+34.5+118.25' has no '-' to cut
at, so the WHATSAT is refused (a student herd's Places query was right for the course's
quadrant only)."""

from _base import HerdServer, main


class LocationSplitAtLastMinus(HerdServer):
    def places_location(self, location: bytes) -> str:
        text = location.decode()
        split = text.rindex("-")  # the bug: ValueError where there is no '-' after the start
        return f"{text[1:split]},{text[split:]}"


if __name__ == "__main__":
    main(LocationSplitAtLastMinus)
