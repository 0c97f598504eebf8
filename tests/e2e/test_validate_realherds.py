"""What validate got wrong on public student herds, each mistake shown on a herd of the corpus.

Measured by running ``herdref validate`` on student herds (issue 11); each test names the
checker mistake it guards against and runs a herd of ``tests/e2e/bad_herds`` that shows it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.e2e.herd_harness import write_herd_file
from tests.e2e.test_validate import BAD_HERDS, SHORT_WAITS, launch_broken_herd
from tests.e2e.test_validate import validate as validate_with_default_waits


def validate(tmp_path: Path, *arguments: str) -> tuple[int, dict[str, object], str]:
    """``herdref validate`` with the short waits of the corpus runs: each herd here shows its
    verdicts at once or never, and a waited-out absence (no flood, no reply) costs 2-3 s, not 5."""
    return validate_with_default_waits(tmp_path, *SHORT_WAITS, *arguments)


def _checks(document: dict[str, object]) -> dict[str, dict[str, object]]:
    checks = document["checks"]
    assert isinstance(checks, list)
    return {entry["check"]: entry for entry in checks}


def test_the_framing_checks_judge_the_dialect_steps_probes_without_sending_them_again(
    tmp_path: Path,
) -> None:
    # A herd that answers only after a half-close costs the dialect step a reply timeout per
    # kept-open probe; sending the probes again in frame-half-close and
    # frame-close-after-half-close (and waiting once more in frame-keep-open and
    # error-keeps-connection) spent a student herd's whole run budget, so that 40 checks were
    # SKIPPED and the run exited as if it had passed.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "dialect_read_to_eof.py"),
        "--only",
        "frame-half-close,frame-close-after-half-close,frame-keep-open,error-keeps-connection",
    )
    checks = _checks(document)
    verdicts = {name: entry["verdict"] for name, entry in checks.items()}
    assert verdicts == {
        "dialect": "PASS",
        "frame-half-close": "PASS",
        "frame-close-after-half-close": "PASS",
        "frame-keep-open": "NON-STRICT",
        "error-keeps-connection": "UNSUPPORTED",
    }, output
    probes = [line for line in checks["dialect"]["transcript"] if " > " in line]  # type: ignore[union-attr]
    assert probes, output
    shown_again = [line.split(" ", 1)[1] for line in probes]
    for name in ("frame-half-close", "frame-close-after-half-close", "frame-keep-open"):
        transcript = checks[name]["transcript"]
        assert isinstance(transcript, list)
        assert "judged on the dialect step's probes:" in " ".join(transcript), (name, output)
        sent = [line.split(" ", 1)[1] for line in transcript if " > " in line]
        # The dialect step's own probes, shown again, and nothing on a kept-open connection:
        # frame-half-close adds only one half-closed IAMAT to each server (answered at once
        # here; a reply a herd loses at the client's EOF now and then shows there).
        extra = sent[len(shown_again) :]
        assert sent[: len(shown_again)] == shown_again, (name, output)
        if name == "frame-half-close":
            assert len(extra) == 5 and all(" > b'IAMAT " in line for line in extra), (name, output)
        else:
            assert extra == [], (name, output)
    assert status == 3, output


def test_a_question_mark_copy_that_kept_the_lines_own_lf_is_a_strict_deviation(tmp_path: Path) -> None:
    # derekvance21/proxy-server-herd answers f"? {msg}\n" with msg as read, LF included: every
    # '?' reply ends in an empty line. The course's graders strip the reply, so lenient ERR-2
    # takes it; validate failed it eight times (ERR-1, LEX-4, LEX-5, LEX-6, WHATSAT-2/3, ERR-3).
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "dialect_error_copy_keeps_lf.py"),
        "--only",
        "invalid-command,invalid-field-count,invalid-radius,unknown-client,frame-crlf,error-echo-raw",
    )
    checks = _checks(document)
    assert [name for name, entry in checks.items() if entry["verdict"] == "FAIL"] == [], output
    for name in ("invalid-command", "invalid-field-count", "invalid-radius", "unknown-client"):
        assert checks[name]["verdict"] == "PASS", (name, output)
    for name in ("frame-crlf", "error-echo-raw"):
        assert (checks[name]["verdict"], checks[name]["clause"]) == ("NON-STRICT", "ERR-2"), (name, output)
    assert status == 3, output


def test_a_decode_that_raises_on_octets_that_are_not_utf8_is_named_once_under_lex_2(tmp_path: Path) -> None:
    # Six student herds decode() every command and drop the connection on \xff: validate named it
    # IAMAT-4 ("did not answer a valid IAMAT") in lex-octets and ERR-1 again in error-echo-raw.
    # The handout names no encoding, so it is a strict deviation (LEX-2 strict), named once.
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "utf8_decode_crash.py"), "--only", "lex-octets,error-echo-raw"
    )
    checks = _checks(document)
    assert (checks["lex-octets"]["verdict"], checks["lex-octets"]["clause"]) == ("NON-STRICT", "LEX-2"), (
        output
    )
    assert checks["error-echo-raw"]["verdict"] == "PASS", output
    assert status == 3, output


def test_the_base_herd_keeps_octets_that_are_not_utf8(tmp_path: Path) -> None:
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "_base.py"), "--only", "lex-octets,error-echo-raw"
    )
    assert {name: entry["verdict"] for name, entry in _checks(document).items()} == {
        "dialect": "PASS",
        "lex-octets": "PASS",
        "error-echo-raw": "PASS",
    }, output
    assert status == 0, output


def test_a_malformed_at_reply_is_at_1_alone_not_also_a_crlf_or_blank_line_failure(tmp_path: Path) -> None:
    # a student herd answers 'AT <server> <diff> ' + ' '.join(command): frame-crlf
    # called it FRAME-1 ("the CR is white space") and frame-blank-lines FRAME-5 ("no AT reply
    # after blank lines") before at-reply-format named the one defect, AT-1.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "at_reply_repeats_command.py"),
        "--only",
        "frame-crlf,frame-blank-lines,at-reply-format",
    )
    checks = _checks(document)
    # frame-blank-lines needs one AT-shaped reply after the blank lines, whatever its shape: it
    # reads past the malformed line (which carries the report sent) and finds the herd right.
    assert {name: (entry["verdict"], entry["clause"]) for name, entry in checks.items()} == {
        "dialect": ("PASS", "IAMAT-4"),
        "frame-crlf": ("PASS", "ERR-2"),
        "frame-blank-lines": ("PASS", "FRAME-5"),
        "at-reply-format": ("FAIL", "AT-1"),
    }, output
    assert status == 1, output


def test_blank_lines_sent_to_a_single_shot_herd_are_judged_as_leading_white_space_once(
    tmp_path: Path,
) -> None:
    # sophiasharif/CS131 and Douglas-Hsieh/Proxy-Server-Herd read once and test
    # message.startswith('IAMAT'): FRAME-5 and LEX-3 both failed for the one defect.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "leading_space_not_ignored.py"),
        "--only",
        "frame-blank-lines,lex-extra-space",
    )
    checks = _checks(document)
    assert checks["frame-blank-lines"]["verdict"] == "UNSUPPORTED", output
    assert "lex-extra-space" in str(checks["frame-blank-lines"]["summary"]), output
    assert (checks["lex-extra-space"]["verdict"], checks["lex-extra-space"]["clause"]) == ("FAIL", "LEX-3"), (
        output
    )
    assert status == 1, output


def test_a_herd_that_never_floods_is_named_flood_1_not_a_missing_reconnection(tmp_path: Path) -> None:
    # Douglas-Hsieh/Proxy-Server-Herd never wrote its flooding; flood-no-loop saw nothing at the
    # sink and blamed the restart: LINK-2 "after Wilkes restarted, its records did not reach
    # its neighbours".
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "no_flooding.py"), "--only", "flood-no-loop"
    )
    entry = _checks(document)["flood-no-loop"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "FLOOD-1"), output
    assert "not flooded" in str(entry["summary"]), output
    assert status == 1, output


def test_a_question_mark_reply_that_never_copies_the_line_is_one_err_1_failure(tmp_path: Path) -> None:
    # a student herd answers "? {message}" (no f prefix) to every invalid line:
    # seven checks failed for it (LEX-4, ERR-3, LEX-5, LEX-6, WHATSAT-2/3/4). Refusing a line is
    # each invalid-* check's property; what the '?' copies is error-echo-raw's.
    checks_run = (
        "invalid-command,invalid-field-count,invalid-time,invalid-bound,unknown-client,error-echo-raw"
    )
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "error_copy_literal.py"), "--only", checks_run
    )
    checks = _checks(document)
    failed = {name: entry["clause"] for name, entry in checks.items() if entry["verdict"] == "FAIL"}
    assert failed == {"error-echo-raw": "ERR-1"}, output
    assert "does not copy the line" in str(checks["error-echo-raw"]["summary"]), output
    assert status == 1, output


def test_an_invalid_time_that_drops_the_connection_is_named_by_invalid_time_alone(tmp_path: Path) -> None:
    # two student herds send nothing back for 'IAMAT x +12-118 never': frame-crlf,
    # frame-no-final-newline and error-echo-raw (which use that line to test CRLF, EOF and odd
    # white space) each failed ERR-1 "no '?' reply" for what invalid-time names (LEX-6).
    checks_run = "frame-crlf,frame-no-final-newline,error-echo-raw,invalid-time"
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "bad_time_drops_connection.py"), "--only", checks_run
    )
    checks = _checks(document)
    failed = {name: entry["clause"] for name, entry in checks.items() if entry["verdict"] == "FAIL"}
    assert failed == {"invalid-time": "LEX-6"}, output
    for name in ("frame-crlf", "frame-no-final-newline"):
        assert checks[name]["verdict"] == "UNSUPPORTED", (name, output)
        assert "invalid-*" in str(checks[name]["summary"]), (name, output)
    # Its other line (a bad bound, odd white space) is still judged: a student herd's '? {message}'
    # copy was missed when the first line's missing '?' ended the check.
    assert checks["error-echo-raw"]["verdict"] == "PASS", output
    assert status == 1, output


def test_a_herd_that_refuses_valid_locations_is_not_failed_again_by_echo_exact(tmp_path: Path) -> None:
    # two student herds refuse valid locations (no fraction, a leading zero, an east longitude):
    # location-edges named it (LEX-5) and echo-exact, a strict-only check, failed IAMAT-4 again.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "location_needs_fraction.py"),
        "--only",
        "at-reply-format,location-edges,echo-numeric,echo-exact",
    )
    checks = _checks(document)
    assert (checks["location-edges"]["verdict"], checks["location-edges"]["clause"]) == ("FAIL", "LEX-5"), (
        output
    )
    assert (checks["echo-exact"]["verdict"], checks["echo-exact"]["blocked_by"]) == (
        "BLOCKED",
        "location-edges",
    ), output
    assert status == 1, output


def test_a_whatsat_reply_cut_short_by_the_close_is_a_strict_deviation(tmp_path: Path) -> None:
    # Douglas-Hsieh/Proxy-Server-Herd ends its WHATSAT reply with the JSON and one LF, then the
    # connection closes: SPEC decision A21 calls a missing final LF LF at the close lenient.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "dialect_whatsat_no_empty_line.py"),
        "--only",
        "whatsat-reply,whatsat-bound",
    )
    checks = _checks(document)
    assert (checks["whatsat-reply"]["verdict"], checks["whatsat-reply"]["clause"]) == (
        "NON-STRICT",
        "WHATSAT-5",
    ), output
    assert checks["whatsat-bound"]["verdict"] == "PASS", output
    assert status == 3, output


def test_a_decimal_radius_that_drops_the_connection_is_not_called_refused(tmp_path: Path) -> None:
    # alexdu25/Google-Places-Proxy-Prototype int()s the radius: '0.5' drops the connection.
    # limits-edges said "was refused" and places-radius-metres "the target's Places request
    # never reached the fixture" (UNSUPPORTED); neither is what the transcript shows.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "decimal_radius_drops_connection.py"),
        "--only",
        "invalid-radius,limits-edges,places-radius-metres",
    )
    checks = _checks(document)
    assert (checks["invalid-radius"]["verdict"], checks["invalid-radius"]["clause"]) == (
        "FAIL",
        "WHATSAT-2",
    ), output
    # The same defect again: limits-edges needs invalid-radius.
    assert (checks["limits-edges"]["verdict"], checks["limits-edges"]["blocked_by"]) == (
        "BLOCKED",
        "invalid-radius",
    ), output
    assert checks["places-radius-metres"]["verdict"] == "PASS", output
    assert status == 1, output
    # Run alone, limits-edges says what the transcript shows: no reply, not "refused"; and no
    # reply is allowed in no profile (ERR-4), however open the radius's form is.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "decimal_radius_drops_connection.py"),
        "--only",
        "limits-edges",
    )
    limits = _checks(document)["limits-edges"]
    assert (limits["verdict"], limits["clause"]) == ("FAIL", "ERR-4"), output
    assert "got no reply" in str(limits["summary"]), output


def test_a_relay_that_reprints_numbers_is_a_strict_deviation_and_flooding_goes_on(tmp_path: Path) -> None:
    # a student herd keeps a relayed record's client time as a float:
    # flood-no-loop failed FLOOD-5 for '...190095' against '...190094948' and blocked the eight
    # flooding and link checks and the stateful run behind it. A number re-printed within the
    # graders' tolerance (IAMAT-5 lenient) is a strict deviation, and the checks go on. (The
    # herd re-prints the location: a re-printed time also changes which record is newer.)
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "relay_reprints_location.py"),
        "--only",
        "flood-no-loop,flood-all,flood-newest-wins",
    )
    checks = _checks(document)
    assert [name for name, entry in checks.items() if entry["verdict"] in ("FAIL", "BLOCKED")] == [], output
    assert (checks["flood-all"]["verdict"], checks["flood-all"]["clause"]) == ("NON-STRICT", "FLOOD-5"), (
        output
    )
    assert {
        (entry["verdict"], entry["clause"]) for entry in checks.values() if entry["verdict"] != "PASS"
    } == {("NON-STRICT", "FLOOD-5")}, output
    assert status == 3, output


def test_a_time_difference_regenerated_at_each_whatsat_is_whatsat_5_alone(tmp_path: Path) -> None:
    # sophiasharif/CS131 recomputes the time difference at each WHATSAT: whatsat-reply names it
    # (WHATSAT-5), and flood-no-loop failed FLOOD-5 for it too, blocking every flooding check.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "whatsat_time_diff_regenerated.py"),
        "--only",
        "whatsat-reply,flood-no-loop,flood-all",
    )
    checks = _checks(document)
    failed = {
        name: entry["clause"] for name, entry in checks.items() if entry["verdict"] in ("FAIL", "BLOCKED")
    }
    assert failed == {"whatsat-reply": "WHATSAT-5"}, output
    assert checks["flood-all"]["verdict"] == "PASS", output
    assert status == 1, output


def test_a_new_api_error_answered_with_a_question_mark_is_a_strict_deviation(tmp_path: Path) -> None:
    # a student herd (2025, Nearby Search (New)) answers '?' when Google answers
    # an HTTP error: places-errors failed WHATSAT-6 "the WHATSAT reply's body is not JSON" for a
    # '?' reply, and would have asked a passed-through New API error for a legacy "status".
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "dialect_new_api_error_refused.py"), "--only", "places-errors"
    )
    entry = _checks(document)["places-errors"]
    assert (entry["verdict"], entry["clause"]) == ("NON-STRICT", "PLACES-3"), output
    assert "HTTP 429" in str(entry["summary"]), output
    assert status == 3, output


def test_the_base_herd_passes_google_errors_through(tmp_path: Path) -> None:
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "_base.py"), "--only", "places-errors"
    )
    assert _checks(document)["places-errors"]["verdict"] == "PASS", output
    assert status == 0, output


def test_a_blank_line_answered_by_a_one_line_per_connection_herd_is_no_failure(tmp_path: Path) -> None:
    # a student herd reads one line per connection and answers '? ' to a blank one
    # (course: left open, protocol notes A20); frame-blank-lines failed FRAME-5 "no AT reply
    # after blank lines" for the IAMAT that its single-shot reading never gets to. Strict
    # FRAME-5 still asks that IAMAT be answered: NON-STRICT, and the run passes.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "dialect_one_line_blank_answered.py"),
        "--only",
        "frame-blank-lines,invalid-command",
    )
    checks = _checks(document)
    assert checks["frame-blank-lines"]["verdict"] == "NON-STRICT", output
    assert "leaves blank lines open" in str(checks["frame-blank-lines"]["summary"]), output
    assert checks["invalid-command"]["verdict"] == "PASS", output
    assert status == 3, output


def test_a_herd_that_refuses_far_times_still_has_its_time_differences_judged(tmp_path: Path) -> None:
    # a student herd refuses client times past the year 9999 (iamat-any-time, IAMAT-6: its check
    # calls datetime.utcfromtimestamp) and writes a negative time difference as '--3600.0':
    # skew needed iamat-any-time, so it was BLOCKED and the second defect never looked for.
    herd = _refusing_times_past_9999(tmp_path, "skew_double_minus", "SkewDoubleMinus")
    status, document, output = validate(
        tmp_path,
        "--launch",
        f"{sys.executable} {herd} {{name}} --config {{config}}",
        "--config",
        str(write_herd_file(tmp_path)),
        "--only",
        "at-reply-format,iamat-any-time,skew",
    )
    failed = {
        name: entry["clause"] for name, entry in _checks(document).items() if entry["verdict"] == "FAIL"
    }
    assert failed == {"iamat-any-time": "IAMAT-6", "skew": "AT-2"}, output
    assert "--" in str(_checks(document)["skew"]["seen"]), output
    assert status == 1, output


def test_a_herd_that_never_replaces_a_record_is_told_so_even_when_it_refuses_far_times(
    tmp_path: Path,
) -> None:
    # a student herd never replaces a client's first record (update_client_stamp stores nothing) and
    # refuses client times past the year 9999: newer-by-value needed iamat-any-time, so it was
    # BLOCKED; where it ran, its message blamed "a comparison of the strings".
    herd = _refusing_times_past_9999(tmp_path, "first_report_kept", "FirstReportKept")
    status, document, output = validate(
        tmp_path,
        "--launch",
        f"{sys.executable} {herd} {{name}} --config {{config}}",
        "--config",
        str(write_herd_file(tmp_path)),
        "--only",
        "at-reply-format,iamat-any-time,newer-by-value,iamat-stale",
    )
    checks = _checks(document)
    failed = {name: entry["clause"] for name, entry in checks.items() if entry["verdict"] == "FAIL"}
    assert failed == {"iamat-any-time": "IAMAT-6", "newer-by-value": "FLOOD-2"}, output
    assert "keeps a client's first report" in str(checks["newer-by-value"]["summary"]), output
    assert status == 1, output


def test_a_string_comparison_of_client_times_is_named_as_such(tmp_path: Path) -> None:
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "string_time_compare.py"), "--only", "newer-by-value"
    )
    entry = _checks(document)["newer-by-value"]
    assert entry["verdict"] == "FAIL", output
    assert "smaller in value but greater as a string" in str(entry["summary"]), output
    assert status == 1, output


def test_an_older_record_put_back_after_a_newer_one_is_named_as_such_whatever_the_seed(
    tmp_path: Path,
) -> None:
    # a student herd compares no client times on flooded records and floods to every neighbour:
    # the first of two reports, coming back from a neighbour after the second was taken,
    # replaced it. newer-by-value diagnosed the last line by elimination: "keeps a client's
    # first report", "greater as a string", or under another seed NON-STRICT "compared as
    # binary floats", none of which the transcript showed. Here the echo always comes back.
    for seed in ("1", "2"):
        status, document, output = validate(
            tmp_path,
            *launch_broken_herd(tmp_path, "own_record_back_replaces_newer.py"),
            "--only",
            "newer-by-value",
            "--seed",
            seed,
        )
        entry = _checks(document)["newer-by-value"]
        assert (entry["verdict"], entry["strict_only"]) == ("FAIL", False), output
        summary = str(entry["summary"])
        assert "a record with a smaller client time replaced a newer one" in summary, output
        assert not any(
            cause in summary for cause in ("keeps a client's first report", "as a string", "binary floats")
        ), output
        assert status == 1, output


def test_a_float_comparison_is_named_only_where_the_newer_report_was_never_taken(tmp_path: Path) -> None:
    # The other side of the test above: a herd that compares floats never takes the report 1 ns
    # newer, floods nothing of it and keeps the first when asked again, so the float comparison
    # stays the cause, a strict-only deviation.
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, "float_time_compare.py"), "--only", "newer-by-value"
    )
    entry = _checks(document)["newer-by-value"]
    assert (entry["verdict"], entry["strict_only"]) == ("NON-STRICT", True), output
    assert "compared as binary floats" in str(entry["summary"]), output
    assert status == 3, output


def _refusing_times_past_9999(tmp_path: Path, module: str, defect_class: str) -> Path:
    """A two-defect herd: the corpus herd ``module``'s defect, and client times past the year
    9999 refused (as two student herds do), which iamat-any-time names (IAMAT-6)."""
    herd = tmp_path / f"year_9999_and_{module}.py"
    herd.write_text(
        "import sys\n"
        "from decimal import Decimal\n"
        f"sys.path.insert(0, {str(BAD_HERDS)!r})\n"
        "from _base import main\n"
        f"from {module} import {defect_class}\n\n\n"
        f"class Year9999({defect_class}):\n"
        "    def time_ok(self, client_time):\n"
        "        return super().time_ok(client_time) and Decimal(client_time.decode()) < 253402300800\n\n\n"
        "main(Year9999)\n"
    )
    return herd


def test_a_whatsat_reply_with_a_rebuilt_at_line_still_has_its_body_judged(tmp_path: Path) -> None:
    # a student herd rebuilds the AT line of a WHATSAT reply and writes the Places answer
    # as a Python dict's repr: whatsat-reply stopped at the first line, and the checks of the
    # body's contents leave its form to whatsat-reply, so the body was never named.
    herd = _combined(
        tmp_path,
        "rebuilt_at_line_and_dict_repr",
        ("regenerated_at_line", "RegeneratedAtLine"),
        ("json_as_dict_repr", "JsonAsDictRepr"),
    )
    status, document, output = validate(
        tmp_path,
        *_launch(herd, tmp_path),
        "--only",
        "whatsat-reply",
    )
    entry = _checks(document)["whatsat-reply"]
    assert entry["verdict"] == "FAIL", output
    summary = str(entry["summary"])
    assert "does not start with the stored AT line: its first line has the time difference" in summary, output
    assert "(WHATSAT-5), and " in summary and "its body is not JSON" in summary, output
    assert "(WHATSAT-6)" in summary, output
    assert status == 1, output


def test_a_herd_that_never_floods_is_named_by_flood_all_at_once_and_no_wait_is_paid_again(
    tmp_path: Path,
) -> None:
    # Douglas-Hsieh/Proxy-Server-Herd never wrote its flooding: each wait for a flood paid its
    # whole timeout (iamat-stale, flood-no-loop...) and flood-all, the check that names it,
    # was SKIPPED for the run's budget. flood-storm sees no neighbour send a record: flood-all
    # is judged next, and what it learned ends the later waits after one look.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "no_flooding.py"),
        "--only",
        "flood-storm,flood-no-loop,flood-all,iamat-stale",
    )
    checks = _checks(document)
    assert list(checks)[:3] == ["dialect", "flood-storm", "flood-all"], output
    assert (checks["flood-all"]["verdict"], checks["flood-all"]["clause"]) == ("FAIL", "FLOOD-1"), output
    assert (checks["flood-no-loop"]["verdict"], checks["flood-no-loop"]["blocked_by"]) == (
        "BLOCKED",
        "flood-all",
    ), output
    assert checks["iamat-stale"]["verdict"] == "PASS", output
    assert "one look, no wait for the record to spread" in " ".join(checks["iamat-stale"]["transcript"])  # type: ignore[arg-type]
    assert status == 1, output


def test_a_herd_that_answers_one_command_per_connection_is_not_asked_for_a_second_again(
    tmp_path: Path,
) -> None:
    # a student herd answers the first command of a connection and ignores the rest:
    # frame-pipelined waited a whole reply timeout for a second reply, and error-keeps-connection
    # failed ERR-1 for an invalid line that was simply never read.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "dialect_first_command_only.py"),
        "--only",
        "frame-keep-open,frame-pipelined,error-keeps-connection",
    )
    checks = _checks(document)
    assert checks["frame-keep-open"]["verdict"] == "NON-STRICT", output
    for name in ("frame-pipelined", "error-keeps-connection"):
        assert checks[name]["verdict"] == "UNSUPPORTED", (name, output)
        assert "gets no reply here (frame-keep-open: on a kept-open connection command 2 got no reply" in str(
            checks[name]["summary"]
        ), output
        assert not [line for line in checks[name]["transcript"] if " > " in line], (name, output)  # type: ignore[union-attr]
    assert status == 3, output


def test_a_herd_that_answers_one_command_and_keeps_the_connection_is_known_from_the_dialect_step(
    tmp_path: Path,
) -> None:
    # A herd that reads one line per connection, answers it and then neither reads nor closes:
    # frame-keep-open waited a whole reply timeout for command 2, twice (its replay), and the
    # run's budget was spent before the later checks. The dialect step now sends a second IAMAT
    # on its kept-open connection and waits for it once; frame-keep-open is judged on that, and
    # a check that needs a second command knows it even when frame-keep-open did not run.
    herd = launch_broken_herd(tmp_path, "dialect_one_command_never_closes.py")
    status, document, output = validate(tmp_path, *herd, "--only", "frame-keep-open,frame-pipelined")
    checks = _checks(document)
    dialect_sent = [line.split(" ", 1)[1] for line in checks["dialect"]["transcript"] if " > " in line]  # type: ignore[union-attr]
    # The half-close IAMAT probe, then two IAMATs on the kept-open connection.
    assert sum("IAMAT" in line for line in dialect_sent) == 3, output
    assert (checks["frame-keep-open"]["verdict"], checks["frame-keep-open"]["summary"]) == (
        "NON-STRICT",
        "no AT reply to command 2 on a kept-open connection",
    ), output
    transcript = checks["frame-keep-open"]["transcript"]
    assert isinstance(transcript, list)
    assert "judged on the dialect step's probes:" in " ".join(transcript), output
    # Only the dialect step's own probes, shown again: nothing new was sent, nothing waited for.
    assert [line.split(" ", 1)[1] for line in transcript if " > " in line] == dialect_sent, output
    assert checks["frame-pipelined"]["verdict"] == "UNSUPPORTED", output
    assert not [line for line in checks["frame-pipelined"]["transcript"] if " > " in line], output  # type: ignore[union-attr]
    assert status == 3, output

    status, document, output = validate(tmp_path, *herd, "--only", "error-keeps-connection")
    entry = _checks(document)["error-keeps-connection"]
    assert entry["verdict"] == "UNSUPPORTED", output
    assert "the dialect step found that a kept-open connection gets the reply to its first IAMAT" in str(
        entry["summary"]
    ), output
    assert not [line for line in entry["transcript"] if " > " in line], output  # type: ignore[union-attr]
    assert status == 0, output


def test_a_storm_herd_is_still_judged_on_one_server_alone(tmp_path: Path) -> None:
    # a student herd floods for ever: the storm was named, and 53 checks were BLOCKED,
    # so its other defects were never looked at. With its neighbours stopped, one server cannot
    # storm; what it does with a client's lines (here: no '+' on a positive time difference) is
    # judged on it, and only what needs two servers stays BLOCKED.
    herd = _combined(
        tmp_path,
        "storm_and_skew",
        ("flood_storm", "FloodStorm"),
        ("skew_without_plus", "SkewWithoutPlus"),
    )
    status, document, output = validate(
        tmp_path,
        *_launch(herd, tmp_path),
        "--only",
        "flood-storm,at-reply-format,skew,invalid-location,unknown-client,flood-all",
    )
    checks = _checks(document)
    verdicts = {name: (entry["verdict"], entry["clause"]) for name, entry in checks.items()}
    assert verdicts["flood-storm"] == ("FAIL", "FLOOD-2"), output
    assert verdicts["skew"] == ("FAIL", "AT-2"), output
    for name in ("at-reply-format", "invalid-location", "unknown-client"):
        assert verdicts[name][0] == "PASS", (name, output)
    assert verdicts["flood-all"][0] == "BLOCKED", output
    assert "runs, alone" in " ".join(checks["skew"]["transcript"]), output  # type: ignore[arg-type]
    assert status == 1, output


def _combined(tmp_path: Path, name: str, *bases: tuple[str, str], body: str = "pass") -> Path:
    """A herd of several corpus herds' defects at once: a class deriving from each
    ``(module, class)`` in ``bases``, with ``body`` as its own."""
    herd = tmp_path / f"{name}.py"
    imports = "".join(f"from {module} import {cls}\n" for module, cls in bases)
    herd.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(BAD_HERDS)!r})\n"
        "from _base import main\n"
        f"{imports}\n\n"
        f"class Combined({', '.join(cls for _, cls in bases)}):\n"
        f"    {body}\n\n\n"
        "main(Combined)\n"
    )
    return herd


def _launch(herd: Path, tmp_path: Path) -> list[str]:
    return [
        "--launch",
        f"{sys.executable} {herd} {{name}} --config {{config}}",
        "--config",
        str(write_herd_file(tmp_path)),
    ]


def test_an_origin_that_keeps_a_stale_iamat_does_not_hide_an_update_that_is_not_flooded(
    tmp_path: Path,
) -> None:
    # a student herd stores a stale IAMAT at its origin (iamat-stale, IAMAT-7) and does not flood a
    # known client's update (E4): flood-newest-wins, the check that looks for the update, needed
    # iamat-stale and flood-stale-not-sent to PASS, so it was BLOCKED and E4 never looked for.
    herd = _combined(
        tmp_path,
        "stale_kept_and_update_not_flooded",
        ("stale_iamat_stored_at_origin", "StaleIamatStoredAtOrigin"),
        ("update_not_reflooded", "UpdateNotReflooded"),
    )
    status, document, output = validate(
        tmp_path,
        *_launch(herd, tmp_path),
        "--only",
        "newer-by-value,iamat-stale,flood-all,flood-stale-not-sent,flood-newest-wins",
    )
    checks = _checks(document)
    failed = {name: entry["clause"] for name, entry in checks.items() if entry["verdict"] == "FAIL"}
    assert failed == {"iamat-stale": "IAMAT-7", "flood-newest-wins": "FLOOD-1"}, output
    assert checks["flood-stale-not-sent"]["verdict"] == "BLOCKED", output
    assert "did not replace the older record everywhere" in str(checks["flood-newest-wins"]["summary"]), (
        output
    )
    assert status == 1, output


def test_a_stale_iamat_kept_at_its_server_is_named_once_by_iamat_stale(tmp_path: Path) -> None:
    # flood-newest-wins now runs behind an iamat-stale FAIL: it notes the stale record kept
    # where it was sent and judges the other servers, so the defect is not named twice.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "stale_iamat_stored_at_origin.py"),
        "--only",
        "newer-by-value,iamat-stale,flood-all,flood-newest-wins",
    )
    checks = _checks(document)
    failed = {name: entry["clause"] for name, entry in checks.items() if entry["verdict"] == "FAIL"}
    assert failed == {"iamat-stale": "IAMAT-7"}, output
    assert checks["flood-newest-wins"]["verdict"] == "PASS", output
    assert "iamat-stale names that" in " ".join(checks["flood-newest-wins"]["transcript"]), output
    assert status == 1, output


def test_a_client_time_reprinted_smaller_is_the_same_record_not_an_older_one(tmp_path: Path) -> None:
    # a student herd keeps a relayed client time as a float ('...185589' for '...185589075'):
    # flood-no-loop took it for an older record and failed LINK-2 'after Juzang restarted',
    # blocking flood-all and paused-neighbour. It is FLOOD-5, strict only, named by flood-all.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "relay_reprints_time.py"),
        "--only",
        "flood-no-loop,flood-all,flood-newest-wins",
    )
    checks = _checks(document)
    verdicts = {name: (entry["verdict"], entry["clause"]) for name, entry in checks.items()}
    assert verdicts["flood-all"] == ("NON-STRICT", "FLOOD-5"), output
    assert {verdict for verdict, _ in verdicts.values()} <= {"PASS", "NON-STRICT"}, output
    assert "older record" not in output + str(document), output
    assert status == 3, output


def test_a_flooded_record_stored_as_a_new_report_is_flood_5_not_unsupported(tmp_path: Path) -> None:
    # a student herd handles a flooded IAMAT as a new one: every server stores a line of its own and
    # the copy that comes back replaces the origin's. flood-all gave up ('WHATSAT at Bailey
    # does not return the AT line Bailey answered'); it judges FLOOD-5 from what it saw.
    herd = _combined(
        tmp_path,
        "flood_echoed_at_once",
        ("flood_handled_as_report", "FloodHandledAsReport"),
        body="relay_delay_s = 0.0",
    )
    status, document, output = validate(tmp_path, *_launch(herd, tmp_path), "--only", "flood-all")
    entry = _checks(document)["flood-all"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "FLOOD-5"), output
    assert "twice alike" in str(entry["summary"]), output
    assert status == 1, output


def test_a_whatsat_line_rebuilt_from_the_request_is_not_called_a_lost_record(tmp_path: Path) -> None:
    # two student herds rebuild the AT line from the WHATSAT ('... 10 0'): newer-by-value
    # said 'kept neither record' and iamat-stale 'replaced its record'. whatsat-reply names it,
    # and runs before them, so they are BLOCKED by it at their first record read.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "whatsat_line_from_arguments.py"),
        "--only",
        "whatsat-reply,newer-by-value,iamat-stale",
    )
    checks = _checks(document)
    verdicts = {name: entry["verdict"] for name, entry in checks.items()}
    assert verdicts == {
        "dialect": "PASS",
        "whatsat-reply": "FAIL",
        "newer-by-value": "BLOCKED",
        "iamat-stale": "BLOCKED",
    }, output
    assert "which record a server holds cannot be read" in str(checks["newer-by-value"]["summary"]), output
    assert status == 1, output


def test_a_whatsat_line_rebuilt_from_the_iamat_command_is_named_once_in_words_true_of_it(
    tmp_path: Path,
) -> None:
    # A WHATSAT that rebuilds its AT line at query time (the time difference as of now) from the
    # stored IAMAT command, the word IAMAT included: newer-by-value said the server 'answers
    # WHATSAT for the client with no AT line: it holds neither report' (FLOOD-2), iamat-stale that
    # it 'replaced its record' (IAMAT-7) and lex-octets that it 'did not return its record',
    # though each line shown holds the newest report. whatsat-reply names it, field by field.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "whatsat_line_from_iamat.py"),
        "--only",
        "whatsat-reply,newer-by-value,iamat-stale,lex-octets",
    )
    checks = _checks(document)
    verdicts = {name: (entry["verdict"], entry["clause"]) for name, entry in checks.items()}
    assert verdicts == {
        "dialect": ("PASS", "IAMAT-4"),
        "whatsat-reply": ("FAIL", "WHATSAT-5"),
        "newer-by-value": ("UNSUPPORTED", "FLOOD-2"),
        "iamat-stale": ("UNSUPPORTED", "IAMAT-7"),
        "lex-octets": ("UNSUPPORTED", "LEX-2"),
    }, output
    assert str(checks["whatsat-reply"]["summary"]).endswith(
        "its first line is no AT line of AT-1's shape (six fields joined by single spaces; 7 fields here)"
    ), output
    for name in ("newer-by-value", "iamat-stale", "lex-octets"):
        summary = str(checks[name]["summary"])
        assert "which is no AT line of AT-1's shape" in summary, (name, output)
        assert "whatsat-reply judges that, WHATSAT-5" in summary, (name, output)
    assert status == 1, output


def test_a_whatsat_line_rebuilt_from_the_request_does_not_fail_the_stateful_run_again(tmp_path: Path) -> None:
    # WHATSAT answers '... <client> 10 0' (the request's radius and bound for the location and
    # the client time): whatsat-reply names it (WHATSAT-5); the stateful run, which sees what a
    # server holds only through WHATSAT, failed it again as a line 'which no server ever
    # answered' (FLOOD-4).
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "whatsat_line_from_arguments.py"),
        "--only",
        "whatsat-reply,stateful",
        "--examples",
        "3",
        "--seed",
        "1",
    )
    checks = _checks(document)
    assert (checks["whatsat-reply"]["verdict"], checks["whatsat-reply"]["clause"]) == ("FAIL", "WHATSAT-5"), (
        output
    )
    assert checks["stateful"]["verdict"] in ("PASS", "UNSUPPORTED"), output
    assert status == 1, output


def test_a_time_difference_the_skew_check_named_does_not_fail_the_stateful_run_again(tmp_path: Path) -> None:
    # two student herds write '--' before a negative difference: skew names it (AT-2); the
    # stateful run named it again under AT-1, or (once it knew the defect) ended every example
    # at its first reply, as every client time it sends is ahead of the clock.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "skew_double_minus.py"),
        "--only",
        "at-reply-format,skew,stateful",
        "--examples",
        "3",
    )
    checks = _checks(document)
    assert (checks["skew"]["verdict"], checks["skew"]["clause"]) == ("FAIL", "AT-2"), output
    stateful = checks["stateful"]
    assert stateful["verdict"] == "PASS", output
    assert "(seen as AT-2; the run went on)" in str(stateful["summary"]), output
    assert status == 1, output


def test_a_stale_record_behind_a_rebuilt_whatsat_line_is_read_from_its_time_difference(
    tmp_path: Path,
) -> None:
    # two student herds rebuild the WHATSAT line ('... 10 0') and keep a stale IAMAT: the
    # rebuilt line's time difference (+100 s) shows the stale client time is held.
    herd = _combined(
        tmp_path,
        "rebuilt_line_and_stale_kept",
        ("whatsat_line_from_arguments", "WhatsatLineFromArguments"),
        ("stale_iamat_stored_at_origin", "StaleIamatStoredAtOrigin"),
    )
    status, document, output = validate(tmp_path, *_launch(herd, tmp_path), "--only", "iamat-stale")
    entry = _checks(document)["iamat-stale"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "IAMAT-7"), output
    assert "puts the client time it holds at the stale report's" in str(entry["summary"]), output
    assert status == 1, output


def test_a_malformed_at_reply_blocks_no_check_that_can_judge_without_it(tmp_path: Path) -> None:
    # A student herd repeats the IAMAT in its AT reply (AT-1), refuses a line that starts with
    # white space and sends the radius in km: lex-extra-space and places-radius-metres were
    # BLOCKED by at-reply-format, though a refusal next to the same line written plainly, and
    # the request Places gets, need no AT reply that can be read.
    herd = _combined(
        tmp_path,
        "repeated_command_leading_space_km",
        ("at_reply_repeats_command", "AtReplyRepeatsCommand"),
        ("leading_space_not_ignored", "LeadingSpaceNotIgnored"),
        ("radius_in_km", "RadiusInKm"),
    )
    status, document, output = validate(
        tmp_path,
        *_launch(herd, tmp_path),
        "--only",
        "at-reply-format,lex-extra-space,places-radius-metres",
    )
    verdicts = {name: (entry["verdict"], entry["clause"]) for name, entry in _checks(document).items()}
    assert verdicts["at-reply-format"] == ("FAIL", "AT-1"), output
    assert verdicts["lex-extra-space"] == ("FAIL", "LEX-3"), output
    assert verdicts["places-radius-metres"] == ("FAIL", "PLACES-2"), output
    assert status == 1, output


def test_a_question_mark_writer_that_always_fails_is_named_once_by_error_reply(tmp_path: Path) -> None:
    # A Python herd builds its '?' reply as str + bytes (a TypeError): no invalid line is ever
    # answered, and a blank line (answered as an invalid one) drops the connection too. validate
    # failed that one defect seven times: LEX-4, ERR-3, LEX-5, LEX-6, WHATSAT-2, WHATSAT-3,
    # WHATSAT-4, and FRAME-5 besides. error-reply (ERR-1) names it; the others need it.
    refusals = [
        "invalid-command",
        "invalid-field-count",
        "invalid-time",
        "unknown-client",
        "frame-blank-lines",
    ]
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "blank_line_to_failing_error_writer.py"),
        "--only",
        ",".join(["error-reply", *refusals]),
    )
    checks = _checks(document)
    assert (checks["error-reply"]["verdict"], checks["error-reply"]["clause"]) == ("FAIL", "ERR-1"), output
    for name in refusals:
        assert (checks[name]["verdict"], checks[name]["blocked_by"]) == ("BLOCKED", "error-reply"), (
            name,
            output,
        )
    assert status == 1, output


def test_a_herd_that_refuses_some_kinds_of_invalid_line_fails_the_kind_it_misses(tmp_path: Path) -> None:
    # error-reply passes on the first '?' it gets, so the check of the one kind a herd does not
    # refuse still fails under its own clause, not BLOCKED.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "no_error_for_field_count.py"),
        "--only",
        "error-reply,invalid-field-count,invalid-time",
    )
    checks = _checks(document)
    verdicts = {name: entry["verdict"] for name, entry in checks.items()}
    assert verdicts == {
        "dialect": "PASS",
        "error-reply": "PASS",
        "invalid-field-count": "FAIL",
        "invalid-time": "PASS",
    }, output
    assert checks["invalid-field-count"]["clause"] == "ERR-3", output
    assert status == 1, output


def test_a_flood_that_stops_at_a_down_neighbour_is_found_where_that_one_comes_last_by_name(
    tmp_path: Path,
) -> None:
    # a student herd floods its neighbours in the herd file's order and gives up at the first refused
    # connection. In its own topology the server with the most neighbours that is last by name
    # (the one restart-reconnect killed) came last in each of its neighbours' lists, so no record
    # was lost and restart-reconnect passed; the first of them in the herd file comes first.
    names = ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]
    links = [
        ("Goloman", "Hands"),
        ("Goloman", "Holiday"),
        ("Goloman", "Wilkes"),
        ("Hands", "Wilkes"),
        ("Holiday", "Welsh"),
        ("Holiday", "Wilkes"),
    ]
    herd_file = write_herd_file(tmp_path, names=names, links=links)
    launch = f"{sys.executable} {BAD_HERDS / 'flood_stops_at_down_neighbour.py'} {{name}} --config {{config}}"
    status, document, output = validate(
        tmp_path, "--launch", launch, "--config", str(herd_file), "--only", "flood-all,restart-reconnect"
    )
    checks = _checks(document)
    assert checks["flood-all"]["verdict"] == "PASS", output
    assert (checks["restart-reconnect"]["verdict"], checks["restart-reconnect"]["clause"]) == (
        "FAIL",
        "LINK-4",
    ), output
    assert "with Goloman down" in str(checks["restart-reconnect"]["summary"]), output
    assert status == 1, output


def test_blank_lines_answered_are_quoted_as_they_came(tmp_path: Path) -> None:
    # a student herd answers a blank line with b'?\n' (its '? ' + copy, stripped); frame-blank-lines
    # said "blank lines were answered '? '", a reply with an SP it never sent.
    herd = _combined(
        tmp_path,
        "blank_lines_answered_bare",
        ("blank_lines_answered", "BlankLinesAnswered"),
        body="def error_reply(self, line):\n"
        "        return [b'?\\n'] if not line.strip() else super().error_reply(line)",
    )
    status, document, output = validate(tmp_path, *_launch(herd, tmp_path), "--only", "frame-blank-lines")
    entry = _checks(document)["frame-blank-lines"]
    assert (entry["verdict"], entry["clause"]) == ("NON-STRICT", "FRAME-5"), output
    assert str(entry["summary"]).startswith("blank lines were answered b'?\\n' (left open"), output
    assert status == 3, output


def test_a_question_mark_without_sp_does_not_hide_a_rebuilt_copy(tmp_path: Path) -> None:
    # A student herd wrote '?' with no SP before every copy, and rebuilt the copy of a WHATSAT
    # from its parsed numbers: error-echo-raw named the SP only, so the rebuilt copy (another
    # line than the one received, ERR-1 too) would have come to light only after that fix.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "error_no_space_copy_rebuilt.py"),
        "--only",
        "error-echo-raw",
    )
    entry = _checks(document)["error-echo-raw"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "ERR-1"), output
    summary = str(entry["summary"])
    assert "not followed by a space" in summary, output
    assert "does not copy the line" in summary, output
    assert status == 1, output


@pytest.mark.parametrize(
    "herd_file", ["blank_line_then_bare_array.py", "blank_line_then_bare_array_never_closes.py"]
)
def test_an_empty_line_before_the_json_hides_no_defect_of_the_json(tmp_path: Path, herd_file: str) -> None:
    # A student herd wrote the AT line, an empty line, then the bare results array. The empty
    # line ends the reply for a client, so no later check reads past it: whatsat-reply must
    # name what follows too, on a connection the server closes and on one it keeps open.
    status, document, output = validate(
        tmp_path, *launch_broken_herd(tmp_path, herd_file), "--only", "whatsat-reply"
    )
    entry = _checks(document)["whatsat-reply"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "WHATSAT-5"), output
    summary = str(entry["summary"])
    assert "an empty line follows the AT line" in summary, output
    assert "(WHATSAT-6)" in summary, output
    assert status == 1, output


def test_framing_after_a_flood_storm_is_judged_on_the_server_alone(tmp_path: Path) -> None:
    # A student herd's flood storm, started by the dialect step's own IAMATs, held its WHATSAT
    # replies past the reply timeout: frame-half-close-whatsat failed it (FRAME-4) on probes
    # taken during the storm, though the server alone answers a WHATSAT with half-close at once.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "flood_storm_holds_whatsat.py"),
        "--only",
        "flood-storm,frame-half-close-whatsat,frame-keep-open,whatsat-reply",
    )
    verdicts = {name: entry["verdict"] for name, entry in _checks(document).items()}
    assert verdicts["flood-storm"] == "FAIL", output
    for name in ("frame-half-close-whatsat", "frame-keep-open", "whatsat-reply"):
        assert verdicts[name] == "PASS", (name, output)
    assert status == 1, output


def test_a_line_taken_as_valid_does_not_hide_a_later_one_the_herd_dies_on(tmp_path: Path) -> None:
    # A student herd took a radius of 51 km and died on 'abc' (float() raised): invalid-radius
    # stopped at 51, so the crash was never looked for. Each failing line is named now.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "radius_unlimited_text_drops_connection.py"),
        "--only",
        "invalid-radius",
    )
    entry = _checks(document)["invalid-radius"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "WHATSAT-2"), output
    summary = str(entry["summary"])
    assert " 51 5'" in summary, output
    assert " abc 5'" in summary, output
    assert status == 1, output


def test_a_places_request_for_another_quadrant_is_judged_by_places_radius_metres(tmp_path: Path) -> None:
    # A student herd sent '+34.5+118.25' to Places as '34.,+118.25': the course's locations are
    # all north-west, and places-radius-metres only ever asked for those, while the check that
    # asks for unusual forms (whatsat-location-forms) was BLOCKED behind whatsat-reply.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "location_split_at_last_minus.py"),
        "--only",
        "places-radius-metres",
    )
    entry = _checks(document)["places-radius-metres"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "PLACES-2"), output
    assert "is not centred on it" in str(entry["summary"]), output
    assert status == 1, output


def test_a_line_the_herd_dies_on_does_not_hide_a_later_one_it_takes(tmp_path: Path) -> None:
    # A student herd dropped the connection on a location with one sign and took '+abc-def':
    # invalid-location stopped at the first line left without a reply. A line answered by a
    # closed connection costs nothing to go on from, once the server is seen still to answer.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "location_one_sign_crash_others_taken.py"),
        "--only",
        "invalid-location",
    )
    entry = _checks(document)["invalid-location"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "LEX-5"), output
    summary = str(entry["summary"])
    assert "(no reply)" in summary, output
    assert " +.-. " in summary, output
    assert status == 1, output


def test_a_stale_iamat_answered_wrong_is_still_judged_for_what_it_stored(tmp_path: Path) -> None:
    # A student herd answered a stale IAMAT with its stored AT line and stored the stale report
    # too: iamat-stale stopped at the reply (IAMAT-4), so the record going back in time
    # (IAMAT-7) was never looked for. One FAIL names both now.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "stale_answered_stored_and_kept.py"),
        "--only",
        "iamat-stale",
    )
    entry = _checks(document)["iamat-stale"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "IAMAT-4"), output
    summary = str(entry["summary"])
    assert "stale IAMAT was answered with another report's AT line" in summary, output
    assert "replaced its record of a client with that client's stale IAMAT" in summary, output
    assert status == 1, output


def test_a_record_behind_the_herds_own_words_in_the_whatsat_line_is_still_read(tmp_path: Path) -> None:
    # A student herd put a second 'AT <server> <time-diff>' in front of the stored line in its
    # WHATSAT replies: whatsat-reply named that (WHATSAT-5), and every check that reads which
    # record a server holds ended UNSUPPORTED, 14 of them, five waiting out the propagation time.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "whatsat_prefixed.py"),
        "--only",
        "whatsat-reply,flood-all,iamat-stale,newer-by-value,flood-newest-wins",
    )
    verdicts = {name: entry["verdict"] for name, entry in _checks(document).items()}
    assert verdicts["whatsat-reply"] == "FAIL", output
    for name in ("flood-all", "iamat-stale", "newer-by-value", "flood-newest-wins"):
        assert verdicts[name] == "PASS", (name, output)
    assert status == 1, output


def test_a_body_glued_to_the_at_line_is_judged_from_that_line(tmp_path: Path) -> None:
    # A student herd wrote str(dict) right after the AT line, no LF between: whatsat-reply named
    # the missing LF only (the body after the first LF was empty), and the repr's 20 places for
    # bound 2 were never counted (whatsat-bound UNSUPPORTED: "the body is b''").
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "glued_dict_repr_uncut.py"),
        "--only",
        "whatsat-reply,whatsat-bound",
    )
    checks = _checks(document)
    assert (checks["whatsat-reply"]["verdict"], checks["whatsat-reply"]["clause"]) == ("FAIL", "WHATSAT-5"), (
        output
    )
    assert "(WHATSAT-6)" in str(checks["whatsat-reply"]["summary"]), output
    assert (checks["whatsat-bound"]["verdict"], checks["whatsat-bound"]["clause"]) == ("FAIL", "WHATSAT-7"), (
        output
    )
    assert status == 1, output


def test_a_server_that_exits_on_one_line_is_started_again_for_the_next(tmp_path: Path) -> None:
    # A student herd called sys.exit() on radius 51 and died on 'abc' as well: invalid-radius
    # stopped at the dead server, so the second defect was never looked for.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "radius_over_limit_exits.py"),
        "--only",
        "invalid-radius",
    )
    entry = _checks(document)["invalid-radius"]
    assert (entry["verdict"], entry["clause"]) == ("FAIL", "WHATSAT-2"), output
    summary = str(entry["summary"])
    assert " 51 5' (no reply)" in summary, output
    assert " abc 5' (no reply)" in summary, output
    assert "started again" in " ".join(entry["transcript"]), output  # type: ignore[arg-type]
    assert status == 1, output


def test_relayed_lines_with_other_white_space_block_no_flooding_check(tmp_path: Path) -> None:
    # A student herd answered relayed records with a trailing space: flood-all's FLOOD-5 FAIL
    # blocked nine checks, so its refused newer records and its flood stopped by a neighbour
    # that was down were never looked for.
    status, document, output = validate(
        tmp_path,
        *launch_broken_herd(tmp_path, "relayed_trailing_space.py"),
        "--only",
        "flood-all,flood-newest-wins,flood-pairs,whatsat-reply-flooded",
    )
    verdicts = {name: entry["verdict"] for name, entry in _checks(document).items()}
    assert verdicts["flood-all"] == "FAIL", output
    for name in ("flood-newest-wins", "flood-pairs", "whatsat-reply-flooded"):
        assert verdicts[name] == "PASS", (name, output)
    assert status == 1, output
