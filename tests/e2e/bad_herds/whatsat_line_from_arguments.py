"""One line of code, two deviations a client sees: WHATSAT answers with an AT line rebuilt from the
WHATSAT itself: this server's name (a server that got the record by flooding names itself:
whatsat-origin-named), the time difference as of now, the client, then the request's radius and
bound where the location and the client time belong (whatsat-reply). Both are WHATSAT-5: the
reply starts with the stored AT line."""

import time

from _base import HerdServer, main


class WhatsatLineFromArguments(HerdServer):
    async def on_whatsat(self, fields: list[bytes], line: bytes) -> list[bytes]:
        reply = await super().on_whatsat(fields, line)
        if reply and reply[0].startswith(b"AT "):
            stored = self.table.get(fields[1]) or self.lookup_missing(fields[1])
            diff = self.time_diff(time.time(), stored[0])
            rebuilt = b"AT %s %s %s %s %s" % (self.name.encode(), diff, fields[1], fields[2], fields[3])
            reply = [rebuilt + b"\n", *reply[1:]]
        return reply


if __name__ == "__main__":
    main(WhatsatLineFromArguments)
