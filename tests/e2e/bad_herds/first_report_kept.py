"""One bug: a client's first record is never replaced: the update of a newer record is a lookup
that stores nothing (a student herd's update_client_stamp), so a newer IAMAT or flood changes nothing
(FLOOD-2); every IAMAT is still answered with its own AT line."""

from _base import HerdServer, main


class FirstReportKept(HerdServer):
    def is_newer(self, client: bytes, client_time: bytes) -> bool:
        return client not in self.table


if __name__ == "__main__":
    main(FirstReportKept)
