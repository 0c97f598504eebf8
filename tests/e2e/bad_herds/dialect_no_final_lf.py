"""Dialect, no bug: one command per connection, a one-line reply without its final LF, then
close (AT-1 lenient: no terminator, here before the server closes a single-shot connection)."""

from _base import HerdServer, main


class NoFinalLf(HerdServer):
    one_line_replies_without_lf = True
    single_shot = True
    ephemeral_links = True  # a link would carry more than one command


if __name__ == "__main__":
    main(NoFinalLf)
