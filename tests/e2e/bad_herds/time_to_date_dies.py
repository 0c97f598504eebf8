"""One bug: the client time is checked with ``float()`` and then turned into a date with
``datetime.fromtimestamp()``, outside any try: a valid time past the year 9999 (19 integer
digits) raises, the handler dies and the IAMAT gets no reply (IAMAT-6: a time far from the
clock is still a time). ``inf`` and ``nan`` die the same way; that is the same defect, which
iamat-any-time names once (invalid-time is BLOCKED by it, not a second FAIL)."""

from datetime import datetime

from _base import HerdServer, main


class TimeToDateDies(HerdServer):
    def time_ok(self, client_time: bytes) -> bool:
        try:
            value = float(client_time)
        except ValueError:
            return False
        datetime.fromtimestamp(value)  # the bug: ValueError or OverflowError escapes the handler
        return True


if __name__ == "__main__":
    main(TimeToDateDies)
