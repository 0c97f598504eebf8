"""The herds in ``bad_herds/`` do what ``manifest.toml`` says they do, shown over raw TCP with
real processes and independent of ``herdref validate``.

* Each one-defect herd: its probe sees the bug (the transcript in the assertion message shows
  it), and the same probe on ``_base.py`` does not, so the probe tells the bug from a correct herd.
* Each dialect herd: its probe sees its framing or design, ``_base.py`` does not have it, and
  the herd is otherwise correct when spoken to one command per connection with a half-close.
* Each defect whose clause is not about flooding or links still floods among its own servers,
  so the one bug is the only thing a checker can find.
* The manifest, the files, the probes, the README table and SPEC.md's clause IDs agree.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from tests.e2e.bad_herds.corpus import FLOODS_UNSEEN, floods_intact, load_corpus
from tests.e2e.bad_herds.dialect_probes import TRAIT_PROBES, correct_in_framing, floods_through_its_own_herd
from tests.e2e.bad_herds.probe_kit import BASE, HERE
from tests.e2e.bad_herds.probes import DEFECT_PROBES

MANIFEST: dict[str, dict[str, object]] = tomllib.loads((HERE / "manifest.toml").read_text())["herds"]
DEFECTS = sorted(name for name, entry in MANIFEST.items() if entry["kind"] == "defect")
DIALECTS = sorted(name for name, entry in MANIFEST.items() if entry["kind"] == "dialect")
#: Herds whose WHATSAT cannot reach the fixture (by design), so no JSON or flood is visible.
NO_PLACES = {
    "google_hardcoded",
    "no_places_lenient",
    "dialect_raw_https_places",
    "dialect_raw_https_absolute_target",
    "dialect_raw_https_chunk_after_word",
}
#: Dialect herds that answer the empty read at the client's EOF with text glued to a reply that
#: has no LF: that text, which the correctness probe takes off the reply.
STRAY_AT_EOF = {"dialect_no_final_lf_stray_error": b"?"}
#: Defects whose bug is not in flooding or links: among their own servers they still flood.
#: The herds whose bug is elsewhere but whose corpus run cannot show that they flood: the
#: corpus judge asks every other such herd for flood-all's PASS (tests/e2e/bad_herds/corpus.py).
FLOODING_INTACT = sorted(FLOODS_UNSEEN)
#: The modules of this folder that are not herds: the probes, the corpus judge, its warm
#: interpreter and the sweep.
_PROBE_MODULES = {"probe_kit", "probes", "dialect_probes", "sweep", "corpus", "warm_validate"}
SPEC_CLAUSES = set(re.findall(r"^\*\*([A-Z]+-[0-9]+)\*\*", (HERE.parents[2] / "SPEC.md").read_text(), re.M))


def script_of(name: str) -> Path:
    return HERE / str(MANIFEST[name]["file"])


def test_manifest_readme_and_probes_cover_every_herd() -> None:
    files = {path.name for path in HERE.glob("*.py") if path.stem not in _PROBE_MODULES}
    assert {str(entry["file"]) for entry in MANIFEST.values()} == files
    assert set(DEFECTS) == set(DEFECT_PROBES)
    assert set(DIALECTS) == set(TRAIT_PROBES)
    readme = (HERE / "README.md").read_text()
    for name, entry in MANIFEST.items():
        assert f"| `{entry['file']}` | {entry['kind']} |" in readme, name
        assert entry["clause"] in SPEC_CLAUSES, name
        assert entry["verdict"] in (
            {"0 FAIL"} if entry["kind"] != "defect" else {"FAIL", "NON-STRICT", "FLAKY"}
        )
    assert len(DEFECTS) >= 45 and len(DIALECTS) >= 8


@pytest.mark.parametrize("name", DEFECTS)
def test_defect_herd_names_its_clause(name: str) -> None:
    docstring = ast.get_docstring(ast.parse(script_of(name).read_text())) or ""
    assert str(MANIFEST[name]["clause"]) in docstring


@pytest.mark.parametrize("name", DEFECTS)
def test_defect_is_there_and_not_in_the_base_herd(tmp_path: Path, name: str) -> None:
    probe = DEFECT_PROBES[name]
    evidence = probe(script_of(name), tmp_path / "defect")
    assert evidence.seen, f"{name}: the bug does not show\n{evidence}"
    control = probe(BASE, tmp_path / "base")
    assert not control.seen, f"{name}: the probe also sees the bug in _base.py\n{control}"


def test_the_herds_whose_flooding_a_probe_proves_have_their_bug_elsewhere() -> None:
    corpus = load_corpus()
    assert all(floods_intact(corpus[name]) for name in FLOODS_UNSEEN)


@pytest.mark.parametrize("name", FLOODING_INTACT)
def test_defect_elsewhere_leaves_flooding_intact(tmp_path: Path, name: str) -> None:
    # One bug per herd: a checker must be able to see it alone, not behind a broken flood.
    evidence = floods_through_its_own_herd(script_of(name), tmp_path)
    assert evidence.seen, f"{name}: its servers do not flood among themselves\n{evidence}"


@pytest.mark.parametrize("name", DIALECTS)
def test_dialect_shows_its_framing_and_is_otherwise_correct(tmp_path: Path, name: str) -> None:
    probe = TRAIT_PROBES[name]
    evidence = probe(script_of(name), tmp_path / "dialect")
    assert evidence.seen, f"{name}: its framing does not show\n{evidence}"
    if MANIFEST[name]["per_server"]:  # _base.py cannot be started as one process for all
        control = probe(BASE, tmp_path / "base")
        assert not control.seen, f"{name}: _base.py shows the same framing\n{control}"
    correct = correct_in_framing(
        script_of(name),
        tmp_path / "correct",
        places=name not in NO_PLACES,
        single_process=not MANIFEST[name]["per_server"],
        stray_at_eof=STRAY_AT_EOF.get(name, b""),
    )
    assert correct.seen, f"{name}: not correct in its own framing\n{correct}"


def test_base_herd_is_correct(tmp_path: Path) -> None:
    correct = correct_in_framing(BASE, tmp_path)
    assert correct.seen, str(correct)
