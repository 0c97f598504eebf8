"""One bug: the flood of an IAMAT is built from the line as received, its terminator counted on
as the end of the record, and the origin's name follows as a trace line. An IAMAT ended by EOF
without LF is answered right (the reply is built from the fields), but its flood line is glued
to the trace (``... 1621464827.959498503A``), so the neighbours refuse it and the record never
leaves the server: the line ended by EOF is not a command like any other (FRAME-2)."""

from _base import HerdServer, main


class EofFloodGlued(HerdServer):
    async def answer(self, raw: bytes) -> list[bytes]:
        # on_iamat reaches flood() before its first await, so this is still the IAMAT's line.
        self.received = raw
        return await super().answer(raw)

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        if exclude is None:  # an IAMAT's own record: the AT header, then the line as received
            header = b" ".join(at_line.split(b" ")[:3])
            at_line = header + b" " + self.received.split(None, 1)[1] + self.name.encode()
        await super().flood(at_line, exclude)


if __name__ == "__main__":
    main(EofFloodGlued)
