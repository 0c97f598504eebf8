"""One bug: WHATSAT answers with the stored record's time difference worked out again at query
time (now minus the client time), so the AT line differs from the IAMAT reply at every server,
the one that received the IAMAT included (WHATSAT-5)."""

import time

from _base import HerdServer, main


class WhatsatTimeDiffRegenerated(HerdServer):
    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        fields[2] = self.time_diff(time.time(), fields[5])
        return b" ".join(fields)


if __name__ == "__main__":
    main(WhatsatTimeDiffRegenerated)
