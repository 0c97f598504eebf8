"""One bug: the '?' writer always raises (ERR-1), in a herd that answers a blank line as an
invalid line, which FRAME-5 lenient allows ("no reply other than a `?` reply"). A blank line
then drops the connection like every invalid line does: the one defect is error-reply's, and
frame-blank-lines, which needs it, is BLOCKED rather than failing FRAME-5 for it."""

from _base import main
from error_writer_always_fails import ErrorWriterAlwaysFails


class BlankLineToFailingErrorWriter(ErrorWriterAlwaysFails):
    def is_blank(self, line: bytes) -> bool:
        return False

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        if not self.split(line):
            return self.error_reply(line)  # a blank line goes the way of an invalid one
        return await super().answer(raw)


if __name__ == "__main__":
    main(BlankLineToFailingErrorWriter)
