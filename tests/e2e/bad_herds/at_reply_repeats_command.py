"""One bug: the AT reply is built as 'AT <server> <time-diff> ' plus the whole IAMAT command, so the
word IAMAT sits in it as a seventh field (AT-1); the record it stores and floods is right."""

from _base import HerdServer, main


class AtReplyRepeatsCommand(HerdServer):
    def iamat_reply(self, client: bytes, at_line: bytes) -> bytes:
        fields = at_line.split(b" ")
        return b" ".join([*fields[:3], b"IAMAT", *fields[3:]])


if __name__ == "__main__":
    main(AtReplyRepeatsCommand)
