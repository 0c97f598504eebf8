"""A strict deviation, not a bug: a blank line is answered '? ' and its copy with no LF after the
reply, so the AT line for the command after it follows on the same line (FRAME-5; the course
leaves blank lines open, protocol notes A20), as two student herds do."""

from _base import HerdServer, main


class BlankLinesAnsweredWithoutLf(HerdServer):
    def is_blank(self, line: bytes) -> bool:
        return False

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        if not line.strip():
            return [b"? " + line]  # no LF: the reply runs into the next one
        return await super().answer(raw)


if __name__ == "__main__":
    main(BlankLinesAnsweredWithoutLf)
