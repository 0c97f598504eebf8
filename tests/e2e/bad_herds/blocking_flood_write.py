"""One bug: floods go out with sendall() on blocking sockets, so a neighbour that stops reading
blocks the whole server (LINK-4)."""

import socket

from _base import HerdServer, main


class BlockingFloodWrite(HerdServer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sockets: dict[str, socket.socket] = {}

    async def flood(self, at_line: bytes, exclude: str | None = None) -> None:
        for peer in self.neighbours:
            if peer == exclude:
                continue
            try:
                if peer in self.sockets and self.closed_by_peer(self.sockets[peer]):
                    self.sockets.pop(peer).close()  # a restarted neighbour: open it again
                if peer not in self.sockets:
                    self.sockets[peer] = socket.create_connection(self.servers[peer], timeout=1)
                    self.sockets[peer].settimeout(None)  # blocking from here on
                self.sockets[peer].sendall(at_line + b"\n")  # the bug: blocks the event loop
            except OSError:
                self.sockets.pop(peer, None)

    @staticmethod
    def closed_by_peer(sock: socket.socket) -> bool:
        """Neighbours never write on a link, so a readable link is one the neighbour closed."""
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    async def link(self, peer: str) -> None:
        return  # floods use the blocking sockets above


if __name__ == "__main__":
    main(BlockingFloodWrite)
