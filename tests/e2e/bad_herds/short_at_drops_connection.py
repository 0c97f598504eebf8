"""One strict deviation: an AT line with too few fields raises IndexError, which drops the
connection without '?'. The server lives on, and what it does with an AT line from a client is
its own server-to-server format's business (FLOOD-6 Lenient), so it is strict only; any other
line closing the connection would break ERR-4."""

from _base import HerdServer, main


class ShortAtDropsConnection(HerdServer):
    def check_at(self, fields: list[bytes]) -> None:
        fields[5]  # the bug: IndexError is not Invalid, so it escapes the handler
        super().check_at(fields)


if __name__ == "__main__":
    main(ShortAtDropsConnection)
