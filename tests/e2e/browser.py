"""What a reader sees of an HTML page, measured in headless Chromium (Debian package
``chromium``; ``.ci/run`` installs it).

Chromium loads a copy of the page with a small script added at its end. Once the page is laid
out, the script records what is rendered: the visible text in reading order (``innerText``:
folded ``<details>`` content is not in it), where chosen elements sit (their top edge, in CSS
pixels, and whether they are on the first screen) and which elements are shown at all. The
record is written into the page, and ``--dump-dom`` prints the page as rendered.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["CHROMIUM_MISSING", "Rendering", "chromium", "render"]

WIDTH: Final = 1280
HEIGHT: Final = 900
CHROMIUM_MISSING: Final = (
    "headless Chromium is not installed (apt-get install chromium; .ci/run installs it as root)"
)
_RECORD_ID: Final = "herdref-test-rendering"

#: Runs once the page is parsed; measures before it adds anything to the page.
_MEASURE: Final = """
<script>
(() => {
  const place = (selector) => {
    const element = document.querySelector(selector);
    if (!element) return null;
    const box = element.getBoundingClientRect();
    // checkVisibility: false inside a closed <details> (its content is laid out but hidden).
    const shown = element.checkVisibility ? element.checkVisibility()
                                          : element.getClientRects().length > 0;
    return {top: box.top + window.scrollY, shown: shown, text: element.innerText};
  };
  const record = {
    text: document.body.innerText,
    screen: window.innerHeight,
    places: Object.fromEntries(SELECTORS.map((selector) => [selector, place(selector)])),
  };
  const out = document.createElement("pre");
  out.id = "RECORD_ID";
  out.textContent = JSON.stringify(record);
  document.body.appendChild(out);
})();
</script>
"""


def chromium() -> str | None:
    """The Chromium program, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class Rendering:
    #: The page's visible text, in the order a reader meets it.
    text: str
    #: The height of the first screen, in CSS pixels.
    screen: int
    #: selector -> {"top": px from the page's top, "shown": rendered at all, "text": innerText},
    #: or None when nothing matches.
    places: dict[str, Any]

    def top(self, selector: str) -> float:
        place = self.places[selector]
        assert place is not None, f"{selector} is not on the page"
        return float(place["top"])

    def shown(self, selector: str) -> bool:
        place = self.places[selector]
        return place is not None and bool(place["shown"])


def render(page: Path, selectors: list[str], *, timeout_s: float = 60.0) -> Rendering:
    """Load ``page`` in headless Chromium at 1280x900 and measure what is rendered."""
    program = chromium()
    assert program is not None, CHROMIUM_MISSING
    script = _MEASURE.replace("SELECTORS", json.dumps(selectors)).replace("RECORD_ID", _RECORD_ID)
    with tempfile.TemporaryDirectory() as scratch:
        measured = Path(scratch) / page.name
        text = page.read_text(encoding="utf-8")
        measured.write_text(text.replace("</body>", script + "</body>", 1), encoding="utf-8")
        completed = subprocess.run(
            [
                program,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={Path(scratch) / 'profile'}",
                f"--window-size={WIDTH},{HEIGHT}",
                "--dump-dom",
                measured.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    dom = completed.stdout
    marker = f'<pre id="{_RECORD_ID}">'
    assert marker in dom, (
        f"Chromium rendered no record (exit {completed.returncode}): {completed.stderr[-2000:]}"
    )
    record = json.loads(html.unescape(dom.split(marker, 1)[1].split("</pre>", 1)[0]))
    return Rendering(record["text"], int(record["screen"]), record["places"])
