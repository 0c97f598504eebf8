"""One bug: lines longer than 256 octets are refused with '?' (the first 256 octets copied), a
line limit below an IAMAT whose client ID is a host name of the longest length, 253 octets,
which every reading of the course must take (LEX-2 core, SPEC decision A25; IAMAT-4)."""

from _base import HerdServer, main

LINE_LIMIT = 256


class LineLimit256(HerdServer):
    async def answer(self, raw: bytes) -> list[bytes]:
        line = self.strip_terminator(raw)
        if len(line) > LINE_LIMIT:
            return self.error_reply(line[:LINE_LIMIT])  # the bug: a valid long line refused
        return await super().answer(raw)


if __name__ == "__main__":
    main(LineLimit256)
