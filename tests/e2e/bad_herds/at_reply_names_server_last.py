"""One bug: the AT reply carries the receiving server's name again after the client time (the
herd's own server-to-server line, sender last, sent to clients too), a seventh field (AT-1); the
record it stores and floods is right, and a CRLF IAMAT is answered as an LF one is."""

from _base import HerdServer, main


class AtReplyNamesServerLast(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        return at_line + b" " + at_line.split(b" ")[1]


if __name__ == "__main__":
    main(AtReplyNamesServerLast)
