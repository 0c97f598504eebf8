"""One bug: a WHATSAT for a client the server holds no record of is answered with an AT-shaped
placeholder, 'AT <server> +0 <client> unknown 0 ', then '{}' and an empty line, instead of
'? <line>' (WHATSAT-4). Nothing is stored for the client: the placeholder is made up per query."""

from _base import HerdServer, main


class UnknownClient(Exception):
    """A WHATSAT names a client the server holds no record of."""

    def __init__(self, client: bytes) -> None:
        super().__init__(client)
        self.client = client


class UnknownClientPlaceholder(HerdServer):
    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        raise UnknownClient(client)

    async def answer(self, raw: bytes) -> list[bytes]:
        try:
            return await super().answer(raw)
        except UnknownClient as unknown:
            return [b"AT %s +0 %s unknown 0 \n{}\n\n" % (self.name.encode(), unknown.client)]


if __name__ == "__main__":
    main(UnknownClientPlaceholder)
