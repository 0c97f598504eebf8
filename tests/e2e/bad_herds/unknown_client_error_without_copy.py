"""One bug: a valid WHATSAT for a client the server does not know is answered with a bare '?'
and no copy of the line, although every other invalid line gets '? <line>' (WHATSAT-4, ERR-1)."""

from _base import HerdServer, main


class UnknownClient(Exception):
    """A WHATSAT names a client the server holds no record of."""


class UnknownClientErrorWithoutCopy(HerdServer):
    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        raise UnknownClient

    async def answer(self, raw: bytes) -> list[bytes]:
        try:
            return await super().answer(raw)
        except UnknownClient:
            return [b"?\n"]  # the bug: the copy of the line is left out


if __name__ == "__main__":
    main(UnknownClientErrorWithoutCopy)
