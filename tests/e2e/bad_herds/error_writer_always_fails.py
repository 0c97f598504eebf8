"""One bug: the '?' reply is built by joining text to the line's octets (a TypeError), so no
invalid line of any kind is ever answered: each one drops its connection unanswered (ERR-1).
Valid lines are answered as the base herd answers them."""

from _base import HerdServer, main


class ErrorWriterAlwaysFails(HerdServer):
    def error_reply(self, line: bytes) -> list[bytes]:
        prefix: object = "? "
        return [prefix + line + b"\n"]  # type: ignore[operator]


if __name__ == "__main__":
    main(ErrorWriterAlwaysFails)
