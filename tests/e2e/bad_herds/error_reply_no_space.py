"""One bug: the reply to an invalid line has no SP between `?` and the copy (`?IAMAT Clark
+12-118`), so it is not `?`, SP, a copy of the line (ERR-1; the course's graders compare the
reply after strip() with "? " + the line)."""

from _base import HerdServer, main


class ErrorReplyNoSpace(HerdServer):
    def error_reply(self, line: bytes) -> list[bytes]:
        return [b"?" + line + b"\n"]  # the bug: no SP after '?'


if __name__ == "__main__":
    main(ErrorReplyNoSpace)
