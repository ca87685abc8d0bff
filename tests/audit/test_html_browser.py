"""The HTML report in a real headless browser (Debian's chromium), offline.

``--dump-dom`` gives the DOM after parsing, so a malformed page or an SVG the parser
dropped shows up as a missing element; the screenshot must be a real, non-blank PNG.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_guard.metadata.io import dump_store

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def report(compliant_store, tmp_path) -> Path:
    """A report with a failing, drifting latest run and one OP finding."""
    runs = sorted(compliant_store.experiments[0].trials, key=lambda t: t.components[0].start_time)
    evaluation = next(c for c in runs[-1].components if c.display_name == "TrainEvaluation")
    evaluation.metrics["mape"].last = 0.23
    compliant_store.pipelines[0].notifications = []
    export = tmp_path / "metadata.json"
    dump_store(compliant_store, export)
    path = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "mlops_guard", "audit", "file", str(export), "-o", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    return path


def test_report_renders_in_chromium(report, tmp_path):
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    # the chart survived parsing as SVG, with its parts
    chart = re.search(r"<svg[^>]*class=\"chart\".*?</svg>", html, re.S)
    assert chart, "no chart in the rendered DOM"
    svg = chart.group(0)
    # three runs (the latest failing) and the drift ring on it, plus three legend circles
    assert svg.count("<circle") == 3 + 1 + 3
    assert svg.count('class="point failing"') == 2  # the latest run and its legend entry
    assert 'class="threshold"' in svg and 'class="drift"' in svg and "<polyline" in svg
    assert "threshold &lt;= 0.2" in svg
    # the findings table, one row per finding
    table = re.search(r"<table[^>]*id=\"findings\".*?</table>", html, re.S)
    assert table
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>", table.group(0))
    assert rows == ["ET101", "ET103", "OP103"]

    png = tmp_path / "report.png"
    shot = _chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", report.as_uri())
    assert shot.returncode == 0, shot.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 20_000  # text, a chart and a table, not a blank page
