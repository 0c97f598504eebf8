"""A strict deviation, not a bug: a blank line is answered like any line that is not a command,
'? ' and its copy, on a connection that stays open for the commands after it (FRAME-5; the course
leaves blank lines open, protocol notes A20), as douglas-hsieh's one-read-per-command herd did."""

from _base import HerdServer, main


class BlankLinesAnswered(HerdServer):
    def is_blank(self, line: bytes) -> bool:
        return False

    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        if not line.strip():
            return self.error_reply(line)
        return await super().answer(raw)


if __name__ == "__main__":
    main(BlankLinesAnswered)
