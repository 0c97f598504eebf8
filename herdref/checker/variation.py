"""Unusual but valid inputs for the checker, drawn from the grammar's forms with a seeded RNG.

A checker that always sends ten-digit client times, short lines, extra fields at the end and
whole commands in one write lets common bugs pass (issue 11, cause 5): times compared as
strings, a line limit of one read, extra fields rejected only at the end, each read taken for
a line. :class:`Variation` draws each field from the terminal of ``spec/grammar.lark`` it
instantiates (``POSIX_TIME``, ``LOCATION``, ``CLIENT_ID``, ``RADIUS``, ``BOUND``, ``_WS``),
within the semantic ranges ``herdref.protocol`` checks, so that:

* every line a ``*_line`` method returns is valid: :func:`herdref.protocol.parse_line` and the
  grammar oracle :func:`herdref.protocol.parse_line_lark` accept it, with the fields drawn;
* every line :meth:`Variation.extra_field_lines` returns is invalid (ERR-3): both refuse it.

Rules:

* Pure and reproducible: no I/O, no clock, no global RNG. The same seed gives the same inputs
  in the same order; :attr:`Variation.seed` is what a report prints so that a run can be
  repeated (``Variation(seed)``). A run has one seed; each check draws from
  :func:`Variation.for_check` (the run's seed and the check's name), so a check gets the same
  inputs whether it runs alone (``--only``) or among the others, and again on its replay.
* Client times have 1 to 19 integer digits and 0 to 12 fractional digits (LEX-6); locations
  use integers, long fractions, leading zeros, trailing zeros, tiny values (an exponent when
  printed as a float), ``-0.0`` and the exact boundaries ±90 and ±180 (LEX-5); lines can be
  padded to any length from 100 to 4,000 octets through the client ID (LEX-2); fields can be
  separated by any mix of the five in-line white-space octets (LEX-1, LEX-3);
  :func:`split_points` gives every offset at which a line's writes can be split.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import secrets
from collections.abc import Iterator, Sequence
from typing import Final, TypeVar

from herdref.protocol import MAX_BOUND, MAX_RADIUS_KM, WHITESPACE

T = TypeVar("T")

__all__ = [
    "FRACTION_DIGITS",
    "INTEGER_DIGITS",
    "LINE_LENGTHS",
    "Variation",
    "new_seed",
    "split_points",
    "splits",
]

#: LEX-6 forms the checker must vary over: integer and fractional digit counts.
INTEGER_DIGITS: Final = range(1, 20)
FRACTION_DIGITS: Final = range(0, 13)
#: Line lengths (LF excluded) long enough to cross a short read, short of LIMIT-1.
LINE_LENGTHS: Final = range(100, 4001)
#: White space inside a line: LF frames lines (FRAME-1), the other five separate fields.
_IN_LINE_WHITESPACE: Final = bytes(octet for octet in WHITESPACE if octet != ord("\n"))
_DIGITS: Final = b"0123456789"
#: Octets a client ID may hold (grammar CLIENT_ID): everything but the six white-space octets.
_ID_OCTETS: Final = bytes(octet for octet in range(256) if octet not in WHITESPACE)
_PRINTABLE_ID_OCTETS: Final = bytes(range(0x21, 0x7F))
_WORD_OCTETS: Final = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: Locations every reading of LEX-5 accepts but few herds are tried with: integer degrees,
#: leading zeros, signed zero, the exact boundaries, a long fraction.
BOUNDARY_LOCATIONS: Final = (
    b"+34-118",
    b"+00+000",
    b"-0.0-0.0",
    b"+0-0",
    b"+90+180",
    b"-90-180",
    b"+90.000-180.0",
    b"-090.0+180.000000",
    b"+034.068930-118.445127",
    b"+34.068930123456789-118.445127000000001",
)


def new_seed() -> int:
    """A fresh run seed (32 bits, short enough to type after ``--seed``)."""
    return secrets.randbits(32)


class Variation:
    """A seeded source of unusual but valid protocol inputs (and invalid ones, where named).

    ``seed`` None draws a fresh seed; either way :attr:`seed` holds the one in use. With
    ``integer_times`` False every client time gets at least one fraction digit (for a herd
    that refuses integer-only times, which only LEX-6's strict reading requires).
    """

    def __init__(self, seed: int | None = None, *, integer_times: bool = True) -> None:
        self.seed: int = new_seed() if seed is None else seed
        self.integer_times = integer_times
        self._rng = random.Random(self.seed)

    def __repr__(self) -> str:
        return f"Variation(seed={self.seed})"

    @classmethod
    def for_check(cls, run_seed: int, check_name: str, *, integer_times: bool = True) -> Variation:
        """The inputs of one check in a run: seeded by the run's seed and the check's name
        (a stable digest, not ``hash()``, which changes from one process to the next)."""
        digest = hashlib.blake2b(f"{run_seed}:{check_name}".encode(), digest_size=8).digest()
        return cls(int.from_bytes(digest, "big"), integer_times=integer_times)

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``, drawn from this seed (for a check's own choices)."""
        return self._rng.choice(options)

    def offset(self, low: int, high: int) -> int:
        """An integer in [low, high], drawn from this seed."""
        return self._rng.randint(low, high)

    # ---- fields ------------------------------------------------------------------------------

    def _digits(self, count: int, *, leading_zero: bool = True) -> bytes:
        digits = bytes(self._rng.choice(_DIGITS) for _ in range(count))
        if not leading_zero and count > 1 and digits[:1] == b"0":
            digits = bytes([self._rng.choice(_DIGITS[1:])]) + digits[1:]
        return digits

    def client_time(self, integer_digits: int | None = None, fraction_digits: int | None = None) -> bytes:
        """POSIX_TIME with the given digit counts (drawn from 1-19 and 0-12 when None)."""
        whole = self._rng.choice(INTEGER_DIGITS) if integer_digits is None else integer_digits
        fraction = self._rng.choice(FRACTION_DIGITS) if fraction_digits is None else fraction_digits
        if whole not in INTEGER_DIGITS or fraction not in FRACTION_DIGITS:
            raise ValueError(
                f"client times have 1-19 integer and 0-12 fraction digits, not {whole}, {fraction}"
            )
        if not self.integer_times:
            fraction = max(fraction, 1)
        text = self._digits(whole, leading_zero=False)
        return text + b"." + self._digits(fraction) if fraction else text

    def client_times(self) -> Iterator[bytes]:
        """One client time for every integer digit count (1-19) and every fraction digit count
        (0-12): 247 times, in a seeded order."""
        forms = [(whole, fraction) for whole in INTEGER_DIGITS for fraction in FRACTION_DIGITS]
        self._rng.shuffle(forms)
        for whole, fraction in forms:
            yield self.client_time(whole, fraction)

    def increasing_times(self, count: int) -> list[bytes]:
        """``count`` (2-36) client times, strictly increasing in value, that cross digit counts
        (``99.5`` then ``100.5``): compared as strings, ``100.5`` sorts before ``99.5``."""
        if not 2 <= count <= 36:
            raise ValueError(f"between 2 and 36 increasing times, not {count}")
        whole_digits = self._rng.randint(1, max(INTEGER_DIGITS) - (count + 1) // 2)
        fraction = b"." + self._digits(self._rng.choice(FRACTION_DIGITS[1:]))
        times: list[bytes] = []
        while len(times) < count:
            times.append(b"9" * whole_digits + fraction)
            times.append(b"1" + b"0" * whole_digits + fraction)
            whole_digits += 1
        return times[:count]

    def crossing_times(
        self, max_whole_digits: int = 18, max_fraction_digits: int = 12
    ) -> tuple[bytes, bytes]:
        """Two client times, the second greater in value and smaller as a string (``99.5`` then
        ``100.5``): the first has 1 to ``max_whole_digits`` nines before the point, and both
        the same 0 to ``max_fraction_digits`` fraction digits."""
        if not 1 <= max_whole_digits < max(INTEGER_DIGITS) or max_fraction_digits not in FRACTION_DIGITS:
            raise ValueError(f"no crossing times with {max_whole_digits} and {max_fraction_digits} digits")
        whole = self._rng.randint(1, max_whole_digits)
        # Without integer times at least one fraction digit, even past a maximum of 0.
        fewest = 0 if self.integer_times else 1
        places = self._rng.randint(fewest, max(max_fraction_digits, fewest))
        fraction = b"." + self._digits(places) if places else b""
        return b"9" * whole + fraction, b"1" + b"0" * whole + fraction

    def _degrees(self, limit: int) -> bytes:
        """One signed coordinate within ±limit, in an unusual form."""
        sign = self._rng.choice(b"+-")
        form = self._rng.randrange(6)
        if form == 0:  # the boundary itself, with or without a zero fraction
            whole = b"%d" % limit
            fraction = b"." + b"0" * self._rng.randint(1, 6) if self._rng.random() < 0.5 else b""
        elif form == 4:
            return bytes([sign]) + self._tiny_degrees()
        elif form == 5:
            return bytes([sign]) + self._trailing_zero_degrees(limit)
        else:
            value = self._rng.randrange(limit)
            width = max(len(str(value)), self._rng.randint(1, 3))  # leading zeros up to 3 digits
            whole = b"%0*d" % (width, value)
            places = (0, self._rng.randint(1, 3), self._rng.randint(10, 20))[form - 1]
            fraction = b"." + self._digits(places) if places else b""
        return bytes([sign]) + whole + fraction

    def _tiny_degrees(self) -> bytes:
        """An unsigned coordinate so small that a float printed back shows an exponent (``1e-05``
        for ``0.00001``)."""
        return b"0." + b"0" * self._rng.randint(4, 7) + b"%d" % self._rng.randint(1, 999)

    def _trailing_zero_degrees(self, limit: int) -> bytes:
        """An unsigned coordinate with trailing zeros, which a float printed back drops."""
        whole = b"%d" % self._rng.randrange(limit)
        return whole + b"." + self._digits(self._rng.randint(0, 4)) + b"1" + b"0" * self._rng.randint(1, 5)

    def float_sensitive_location(self) -> bytes:
        """LOCATION that a herd keeping degrees as floats cannot print back unchanged: a tiny
        latitude (an exponent) and a longitude with trailing zeros, signs drawn."""
        return (
            self._rng.choice((b"+", b"-"))
            + self._tiny_degrees()
            + self._rng.choice((b"+", b"-"))
            + self._trailing_zero_degrees(180)
        )

    def location(self) -> bytes:
        """LOCATION: one of the boundary forms, or a latitude and longitude drawn in unusual forms."""
        if self._rng.random() < 0.3:
            return self._rng.choice(BOUNDARY_LOCATIONS)
        return self._degrees(90) + self._degrees(180)

    def client_id(self, length: int | None = None, *, printable: bool = True) -> bytes:
        """CLIENT_ID of ``length`` octets (1-40 when None); ``printable`` False draws from every
        octet but white space (NUL, ``?``, ``+``, bytes that are not UTF-8: LEX-2)."""
        size = self._rng.randint(1, 40) if length is None else length
        if size < 1:
            raise ValueError("a client ID has at least one octet")
        alphabet = _PRINTABLE_ID_OCTETS if printable else _ID_OCTETS
        return bytes(self._rng.choice(alphabet) for _ in range(size))

    def padded_id(self, prefix: bytes, length: int) -> bytes:
        """A client ID of exactly ``length`` octets: ``prefix`` (a check's own fresh ID, so its
        records stay its own), ``.``, then letters and digits. Only the length is unusual, so a
        check that sends it judges line length alone."""
        padding = length - len(prefix) - 1
        if padding < 1:
            raise ValueError(f"a {length}-octet ID cannot hold the {len(prefix)}-octet prefix and padding")
        # One draw for all the octets (a run pads some 75,000: a call per octet took 4 times as long).
        return prefix + b"." + bytes(self._rng.choices(_WORD_OCTETS, k=padding))

    def radius(self) -> bytes:
        """RADIUS in (0, 50] km: integers, fractions, leading zeros and the limit itself."""
        form = self._rng.randrange(5)
        if form == 0:
            return self._rng.choice((b"50", b"50.0", b"050", b"0.001", b"1"))
        if form == 1:
            return b"0." + b"0" * self._rng.randint(0, 5) + b"%d" % self._rng.randint(1, 9)
        whole = self._rng.randint(1, MAX_RADIUS_KM - 1)
        text = b"0" * self._rng.randint(0, 2) + b"%d" % whole
        return text + b"." + self._digits(self._rng.randint(1, 6)) if form >= 3 else text

    def bound(self) -> bytes:
        """BOUND in [0, 20], sometimes with leading zeros (``0020`` is 20)."""
        text = b"%d" % self._rng.randint(0, MAX_BOUND)
        return b"0" * self._rng.choice((0, 0, 1, 3)) + text

    def separator(self, *, mixed: bool = True, cr: bool = True) -> bytes:
        """_WS: one to four of SP, HT, VT, FF, CR in any mix (``mixed`` False: one SP; ``cr``
        False: no CR, which some readers take for a line end when it is not before the LF)."""
        if not mixed:
            return b" "
        octets = _IN_LINE_WHITESPACE if cr else _IN_LINE_WHITESPACE.replace(b"\r", b"")
        return bytes(self._rng.choice(octets) for _ in range(self._rng.randint(1, 4)))

    # ---- lines ---------------------------------------------------------------------------

    def _join(self, fields: list[bytes], mixed: bool) -> bytes:
        line = fields[0]
        for field in fields[1:]:
            line += self.separator(mixed=mixed) + field
        return line

    def iamat_fields(self, *, length: int | None = None, printable: bool = True) -> list[bytes]:
        """The four fields of a valid IAMAT; with ``length``, the client ID is sized so that
        the fields joined by single spaces are exactly ``length`` octets."""
        location, client_time = self.location(), self.client_time()
        if length is None:
            return [b"IAMAT", self.client_id(printable=printable), location, client_time]
        if length not in LINE_LENGTHS:
            raise ValueError(f"line lengths are drawn from 100-4000 octets, not {length}")
        id_length = length - len(b"IAMAT") - len(location) - len(client_time) - 3
        return [b"IAMAT", self.client_id(id_length, printable=printable), location, client_time]

    def iamat_line(self, *, length: int | None = None, mixed: bool = False, printable: bool = True) -> bytes:
        """A valid IAMAT line (no LF). ``length``: exactly that many octets with single spaces;
        ``mixed``: any white space between and around the fields (LEX-3)."""
        fields = self.iamat_fields(length=length, printable=printable)
        if not mixed:
            return b" ".join(fields)
        return self._edge_space() + self._join(fields, True) + self._edge_space()

    def _edge_space(self) -> bytes:
        return self.separator() if self._rng.random() < 0.5 else b""

    def whatsat_fields(self, client_id: bytes | None = None) -> list[bytes]:
        return [b"WHATSAT", self.client_id() if client_id is None else client_id, self.radius(), self.bound()]

    def whatsat_line(self, client_id: bytes | None = None, *, mixed: bool = False) -> bytes:
        """A valid WHATSAT line (no LF) for ``client_id`` (drawn when None)."""
        fields = self.whatsat_fields(client_id)
        return self._join(fields, mixed) if mixed else b" ".join(fields)

    def long_lines(self, count: int) -> Iterator[bytes]:
        """``count`` valid IAMAT lines whose lengths spread over 100-4000 octets, the first
        and last of them exactly 100 and 4000."""
        for index in range(count):
            if index == 0:
                length = LINE_LENGTHS[0]
            elif index == count - 1:
                length = LINE_LENGTHS[-1]
            else:
                length = self._rng.choice(LINE_LENGTHS)
            yield self.iamat_line(length=length)

    def extra_field_lines(self, fields: list[bytes]) -> Iterator[tuple[int, bytes]]:
        """Invalid lines (ERR-3): ``fields`` with one more field inserted at every position
        after the command word, (position, line) in order. A drawn field of the same kind as
        its neighbour (a time, a location, a word) so that a parser that counts only the
        fields it reads takes it for one."""
        for position in range(1, len(fields) + 1):
            extra = self._rng.choice((self.client_time(), self.location(), self.client_id()))
            line = [*fields[:position], extra, *fields[position:]]
            yield position, b" ".join(line)

    def split_line(self, line: bytes, pieces: int) -> list[bytes]:
        """``line`` cut into ``pieces`` non-empty writes at seeded offsets."""
        if not 1 <= pieces <= len(line):
            raise ValueError(f"cannot cut {len(line)} octets into {pieces} pieces")
        cuts = sorted(self._rng.sample(range(1, len(line)), pieces - 1))
        bounds = [0, *cuts, len(line)]
        return [line[start:end] for start, end in itertools.pairwise(bounds)]


def split_points(line: bytes) -> Iterator[int]:
    """Every offset at which ``line``'s writes can be split: 1 to len(line) - 1."""
    return iter(range(1, len(line)))


def splits(line: bytes) -> Iterator[tuple[bytes, bytes]]:
    """``line`` as two writes, split at every offset in turn."""
    for offset in split_points(line):
        yield line[:offset], line[offset:]
