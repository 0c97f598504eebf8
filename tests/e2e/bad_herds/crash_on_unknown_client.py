"""One bug: WHATSAT for an unknown client raises KeyError, which drops the connection (WHATSAT-4)."""

from _base import HerdServer, main


class CrashOnUnknownClient(HerdServer):
    def lookup_missing(self, client: bytes) -> tuple[bytes, bytes]:
        return self.table[client]


if __name__ == "__main__":
    main(CrashOnUnknownClient)
