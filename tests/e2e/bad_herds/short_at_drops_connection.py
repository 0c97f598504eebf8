"""One bug: an AT line with too few fields raises IndexError, which drops the connection without
'?' (ERR-4)."""

from _base import HerdServer, main


class ShortAtDropsConnection(HerdServer):
    def check_at(self, fields: list[bytes]) -> None:
        fields[5]  # the bug: IndexError is not Invalid, so it escapes the handler
        super().check_at(fields)


if __name__ == "__main__":
    main(ShortAtDropsConnection)
