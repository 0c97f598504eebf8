"""Two bugs in one check's lines: the radius has no upper limit (51 km goes to Places and is
answered, WHATSAT-2), and a radius that is no number ('abc') raises in float(), which drops
the connection with no reply (ERR-4). invalid-radius must name both: the first taken does not
hide the one the herd dies on (a student herd: `float(radius) > 0` was its only test)."""

from decimal import Decimal

from _base import HerdServer, main


class RadiusUnlimitedTextDropsConnection(HerdServer):
    def radius_ok(self, radius: Decimal) -> bool:
        return radius > 0  # the bug: no upper limit

    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4:
            float(fields[2])  # the bug: ValueError on 'abc' ends the handler, no reply
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(RadiusUnlimitedTextDropsConnection)
