"""One bug and one strict deviation, each in a decision of its own: a radius over 50 km is
answered with a message of the herd's own, not '? <line>' (WHATSAT-2 in every profile); and the
radius is read with int(), so a decimal radius (0.5) is refused with '?', which only the strict
profile rules out (WHATSAT-2 Strict). invalid-radius names the first; limits-edges, no longer
BLOCKED by it, names the second."""

from _base import HerdServer, Invalid, main


class RadiusLimitTextIntegerOnly(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4 and fields[0] == b"WHATSAT":
            try:
                radius = int(fields[2])
            except ValueError:
                raise Invalid from None  # the strict deviation: '0.5' is no int
            if radius > 50:
                return [b"radius must be at most 50 km\n"]  # the bug: no '?'
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(RadiusLimitTextIntegerOnly)
