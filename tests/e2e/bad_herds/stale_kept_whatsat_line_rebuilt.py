"""Two bugs, as one student herd had them: the server a client reports to stores an older IAMAT
anyway (IAMAT-7), and WHATSAT writes its AT line anew at each query, with the server's clock
where the client's time stood (WHATSAT-5). No WHATSAT shows the stored client time, so which
report a server keeps is told by the location the rebuilt line carries."""

import time

from _base import HerdServer, main


class StaleKeptWhatsatLineRebuilt(HerdServer):
    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        self.table[client] = (client_time, at_line)  # the first bug: "latest received" wins

    def whatsat_at_line(self, client: bytes, stored: tuple[bytes, bytes]) -> bytes:
        fields = stored[1].split(b" ")
        asked = b"%.9f" % time.time()  # the second bug: the query's time, not the client's
        return b" ".join([*fields[:5], asked])


if __name__ == "__main__":
    main(StaleKeptWhatsatLineRebuilt)
