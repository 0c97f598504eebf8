from __future__ import annotations

import pytest

from tests.e2e.bad_herds import warm_validate

#: The xdist group that one worker runs whole: the corpus of one-defect herds, minutes of runs
#: that no other worker can share (tests/e2e/test_validate.py).
LONGEST_GROUP = "corpus"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/e2e runs real processes on loopback.
    for item in items:
        if "/tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    # The longest group first: with `-n 3 --dist loadgroup` a worker takes it at the start and
    # the others share the rest meanwhile. Collected in place (after test_grade, test_herd...),
    # it started minutes into the run and ran on alone at its end, the cores half idle.
    items.sort(key=lambda item: not _in_group(item, LONGEST_GROUP))


def _in_group(item: pytest.Item, group: str) -> bool:
    return any(marker.args[:1] == (group,) for marker in item.iter_markers("xdist_group"))


def pytest_sessionfinish() -> None:
    warm_validate.close_shared()
