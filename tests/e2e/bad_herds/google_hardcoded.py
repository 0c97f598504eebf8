"""No bug: a correct herd that ignores $PLACES_URL and calls https://maps.googleapis.com, as
most students' code does. ``herdref validate --redirect-google`` must still see its requests."""

from _base import HerdServer, main


class GoogleHardcoded(HerdServer):
    places_url = "https://maps.googleapis.com"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.places_url = GoogleHardcoded.places_url


if __name__ == "__main__":
    main(GoogleHardcoded)
