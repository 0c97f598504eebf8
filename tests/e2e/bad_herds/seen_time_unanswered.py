"""One bug: a server keeps one set of the client times it has seen, for every client, and leaves
an IAMAT whose time is in it unanswered (a student's duplicate guard keyed on the time alone): a
client's duplicate IAMAT, or another client's report with the same time, gets no reply
(IAMAT-4: every valid IAMAT gets an AT reply, a duplicate too)."""

from _base import HerdServer, main


class SeenTimeUnanswered(HerdServer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen_times: set[bytes] = set()

    async def on_iamat(self, fields: list[bytes]) -> list[bytes]:
        if len(fields) == 4 and fields[3] in self.seen_times:
            return []  # the bug: no reply at all
        reply = await super().on_iamat(fields)  # '?' for an invalid line (raised): not kept
        self.seen_times.add(fields[3])
        return reply


if __name__ == "__main__":
    main(SeenTimeUnanswered)
