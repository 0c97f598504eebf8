"""One bug: the client time is checked with float() outside any try, so an IAMAT whose time is
not a number drops the connection with no reply instead of '? <line>' (LEX-6)."""

from _base import HerdServer, main


class BadTimeDropsConnection(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        float(client_time)  # the bug: ValueError escapes the handler
        return super().time_ok(client_time)


if __name__ == "__main__":
    main(BadTimeDropsConnection)
