"""Two bugs in one reply, as blank_line_then_bare_array (an empty line after the WHATSAT reply's
AT line, WHATSAT-5; the bare results array after it, WHATSAT-6), from a herd that never closes
its side of a connection: the read ends at that empty line, the reply's end for a client, and
the array comes after it on a connection still open (a student herd wrote its replies so).
whatsat-reply must still name both."""

from _base import main
from blank_line_then_bare_array import BlankLineThenBareArray
from dialect_never_closes import NeverCloses


class BlankLineThenBareArrayNeverCloses(NeverCloses, BlankLineThenBareArray):
    pass


if __name__ == "__main__":
    main(BlankLineThenBareArrayNeverCloses)
