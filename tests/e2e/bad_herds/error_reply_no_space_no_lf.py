"""One bug, in a lenient dialect: the reply to an invalid line has no SP between '?' and the copy
(ERR-1), and every one-line reply goes without its final LF on a connection kept open for more
commands (SPEC 1.1: strict only), as a herd that writes ``'?' + line`` with ``writer.write`` and
no newline does. A reader that waits for the LF, or for '? ' and the copy, waits out its timeout
on each such reply; the missing SP must be named once, by error-echo-raw, and no check may take
the '?' for no reply."""

from _base import HerdServer, main


class ErrorReplyNoSpaceNoLf(HerdServer):
    one_line_replies_without_lf = True

    def error_reply(self, line: bytes) -> list[bytes]:
        return [b"?" + line + b"\n"]  # the bug: no SP after '?'


if __name__ == "__main__":
    main(ErrorReplyNoSpaceNoLf)
