"""One bug: an IAMAT whose client time is bad is refused ('?', as ERR-1 asks) only after its
location has been written into the client's stored record, and nothing undoes that: WHATSAT then
shows the refused line's location (IAMAT-2: an invalid IAMAT changes nothing). A valid IAMAT is
stored as the base herd stores it (strictly newer only)."""

from _base import HerdServer, Invalid, main


class BadTimeOverwritesLocation(HerdServer):
    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        self.check_fields(fields, 4)
        client, location, client_time = fields[1], fields[2], fields[3]
        held = self.table.get(client)
        if not self.time_ok(client_time):
            if held is not None and self.location_ok(location):
                # The bug: the location went into the record before the time was read.
                parts = held[1].split(b" ")
                parts[4] = self.echo_location(location)
                self.table[client] = (held[0], b" ".join(parts))
            raise Invalid
        return await super().on_iamat(fields)


if __name__ == "__main__":
    main(BadTimeOverwritesLocation)
