"""One bug: the radius goes to Places in kilometres, not metres (PLACES-2). And what the course
leaves open: a WHATSAT with bound 0 asks Places like any other and cuts the results to none
(PLACES-4 lenient lets a server make that request; strict: no request). The bound-0 request
carries the radius in kilometres too, so it is found by its centre and its radius's ratio to
the next request's, not by the metres a WHATSAT of 10 km would ask for."""

from decimal import Decimal

from _base import HerdServer, main


class BoundZeroAsksRadiusKm(HerdServer):
    def radius_param(self, radius_km: Decimal) -> str:
        return str(radius_km)  # the bug: kilometres

    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        if len(fields) == 4 and fields[3] == b"0" and fields[1] in self.table:
            # Asked as any other bound, the results then cut to none.
            fields = [*fields[:3], b"1"]
            at_line = (await super().on_whatsat(fields, line))[0]
            empty = self.format_json({"html_attributions": [], "results": [], "status": "OK"})
            return self.whatsat_reply(at_line.removesuffix(b"\n"), empty)
        return await super().on_whatsat(fields, line)


if __name__ == "__main__":
    main(BoundZeroAsksRadiusKm)
