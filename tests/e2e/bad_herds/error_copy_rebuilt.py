"""One bug: the '?' reply to an invalid WHATSAT is rebuilt from its parsed fields, not copied:
'WHATSAT c 010 21' comes back as '? WHATSAT c 10 21', another line than the one received
(ERR-1: '?', SP and the line; lenient ERR-2 forgives white space only). A student herd wrote
the copy back from the numbers it had read."""

from decimal import Decimal, InvalidOperation

from _base import HerdServer, main


class ErrorCopyRebuilt(HerdServer):
    def error_reply(self, line: bytes) -> list[bytes]:
        fields = line.split()
        if fields[:1] != [b"WHATSAT"]:
            return super().error_reply(line)
        return [b"? " + b" ".join([*fields[:2], *map(_as_read, fields[2:])]) + b"\n"]


def _as_read(field: bytes) -> bytes:
    """A number as the herd parsed it ('010' is 10), anything else as it came."""
    try:
        return str(Decimal(field.decode())).encode()
    except (InvalidOperation, UnicodeDecodeError):
        return field


if __name__ == "__main__":
    main(ErrorCopyRebuilt)
