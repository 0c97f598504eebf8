"""Two bugs, each in a decision of its own: no invalid line gets '?' (the herd answers it with
words of its own, "ERROR: invalid command"; ERR-1), and an IAMAT's fields after the fourth are
ignored, so an IAMAT with five fields is taken as valid and answered with an AT line (ERR-3).
error-reply names the first; invalid-field-count, no longer BLOCKED by it, names the second,
while its lines that get the herd's own words are the first defect again (BLOCKED there)."""

from _base import HerdServer, main


class ErrorTextExtraFieldsTaken(HerdServer):
    def error_reply(self, line: bytes) -> list[bytes]:
        return [b"ERROR: invalid command\n"]  # bug 1: no '?'

    def check_fields(self, fields: list[bytes], count: int) -> None:
        if len(fields) > count:
            del fields[count:]  # bug 2: extra fields ignored
        super().check_fields(fields, count)


if __name__ == "__main__":
    main(ErrorTextExtraFieldsTaken)
