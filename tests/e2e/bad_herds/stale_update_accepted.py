"""One bug: a client's IAMAT always replaces its stored record, even with an older client time
(IAMAT-7, and so it floods it, FLOOD-2); records from neighbours are still compared."""

from _base import HerdServer, main


class StaleUpdateAccepted(HerdServer):
    def accept_iamat(self, client: bytes, client_time: bytes) -> bool:
        return True


if __name__ == "__main__":
    main(StaleUpdateAccepted)
