"""One bug: every '?' reply is the literal text "? {message}" (an f-string without its f), so no
reply copies the invalid line (ERR-1); invalid lines are still told from valid ones."""

from _base import HerdServer, main


class ErrorCopyLiteral(HerdServer):
    def error_reply(self, line: bytes) -> list[bytes]:
        return [b"? {message}\n"]


if __name__ == "__main__":
    main(ErrorCopyLiteral)
