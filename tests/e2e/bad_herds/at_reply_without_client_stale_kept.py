"""Two bugs, each in a decision of its own: the AT reply leaves out the client ID, so it has five
fields (AT-1; the record it stores and floods is right), and the server that receives a client's
older IAMAT stores it anyway (IAMAT-7). The second is judged through the first: the checks that
read which record a server holds read it from the malformed lines by their location and time."""

from _base import HerdServer, main


class AtReplyWithoutClientStaleKept(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], *fields[4:]])  # bug 1: no client ID in the reply

    def store_iamat(self, client: bytes, client_time: bytes, at_line: bytes, accepted: bool) -> None:
        self.table[client] = (client_time, at_line)  # bug 2: "latest received" wins


if __name__ == "__main__":
    main(AtReplyWithoutClientStaleKept)
