"""One bug: a link that breaks is never opened again, so a restarted neighbour is cut off (LINK-2)."""

from _base import HerdServer, main


class NoReconnect(HerdServer):
    reconnect = False


if __name__ == "__main__":
    main(NoReconnect)
