"""Two bugs: the WHATSAT reply writes the JSON right after the AT line, with no LF between
(WHATSAT-5: the stored AT line, LF, then the JSON); and a client's first record is never
replaced, so a newer IAMAT or flood changes nothing (FLOOD-2). The record is still readable
from the reply (the AT line up to the JSON), so the second bug must be found through the first
(the pattern of a student herd that writes the AT line and the Places body with one write and
no separator)."""

from _base import HerdServer, main


class GluedFirstReportKept(HerdServer):
    def whatsat_reply(self, at_line: bytes, body: bytes) -> list[bytes]:
        return [at_line + body + b"\n\n"]

    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        return client not in self.table


if __name__ == "__main__":
    main(GluedFirstReportKept)
