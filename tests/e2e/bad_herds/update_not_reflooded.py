"""One bug (FLOOD-1): a server floods a client's first report only; a newer report from a
client it already holds is stored and answered but not flooded, so the other servers keep the
older location."""

from _base import HerdServer, main


class UpdateNotReflooded(HerdServer):
    def accept_iamat(self, client: bytes, client_time: bytes) -> bool:
        # Which IAMAT this is, for flood() below (no await in between).
        self.update_of_known_client = client in self.table
        return super().accept_iamat(client, client_time)

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        if exclude is None and self.__dict__.pop("update_of_known_client", False):
            return  # the bug: an update from a client is not sent on
        await super().flood(at_line, exclude)


if __name__ == "__main__":
    main(UpdateNotReflooded)
