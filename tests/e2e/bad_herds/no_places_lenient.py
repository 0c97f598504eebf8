"""No bug: a herd that may refuse bound 0 (WHATSAT-3 lenient) and whose Places calls cannot
succeed here (it ignores $PLACES_URL and Google is unreachable). The checker must say what it
cannot see (UNSUPPORTED) rather than blame the herd for it."""

from _base import HerdServer, Invalid, main


class NoPlacesLenient(HerdServer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.places_url = "http://127.0.0.1:9"  # the discard port: nothing answers

    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if fields[3:4] == [b"0"]:
            raise Invalid
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(NoPlacesLenient)
