"""Dialect, no bug: answers the first command of a connection and closes it at once
(FRAME-3 lenient: single-shot connections)."""

from _base import HerdServer, main


class CloseAfterReply(HerdServer):
    single_shot = True
    ephemeral_links = True  # a link would carry more than one command


if __name__ == "__main__":
    main(CloseAfterReply)
