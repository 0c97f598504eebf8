"""Two bugs in one '?' reply: no SP after '?' (every invalid line), and the copy of an invalid
WHATSAT rebuilt from its parsed fields ('WHATSAT c 010 21' comes back as '?WHATSAT c 10 21').
Both are ERR-1 and error-echo-raw's; its one FAIL must name both, so that fixing the SP does
not leave the rebuilt copy to a second run (a student herd did both)."""

from _base import main
from error_copy_rebuilt import ErrorCopyRebuilt


class ErrorNoSpaceCopyRebuilt(ErrorCopyRebuilt):
    def error_reply(self, line: bytes) -> list[bytes]:
        return [reply.replace(b"? ", b"?", 1) for reply in super().error_reply(line)]


if __name__ == "__main__":
    main(ErrorNoSpaceCopyRebuilt)
