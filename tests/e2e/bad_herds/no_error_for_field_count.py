"""One bug: extra fields are ignored and missing ones crash the handler, instead of "? <line>" (ERR-3)."""

from _base import HerdServer, main


class NoErrorForFieldCount(HerdServer):
    def check_fields(self, fields: list[bytes], count: int) -> None:
        fields[count - 1]
        del fields[count:]


if __name__ == "__main__":
    main(NoErrorForFieldCount)
