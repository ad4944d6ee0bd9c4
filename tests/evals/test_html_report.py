"""The run's report.html: self-contained, and what a browser renders of it (headless Chromium)."""
from __future__ import annotations

import re

import pytest

from evals.html_report import main as html_main
from evals.html_report import write_html_report, write_sweep_html_report
from tests.evals.browser import CHROMIUM, Browser
from tests.evals.run_fixture import RUN_ID, fixture_samples, make_run


@pytest.fixture
def report(tmp_path):
    rows, events = fixture_samples(big_output="z" * 5_000_000)
    run_dir = tmp_path / "runs" / RUN_ID
    run_dir.mkdir(parents=True)
    return write_html_report(run_dir, rows, events, label="sim")


def test_the_page_is_self_contained_and_holds_table_samples_and_trajectories(report):
    page = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)     # nothing fetched from a network
    assert "simulated models: these numbers test the harness" in page
    assert page.count('<tr class="sample') == 4 and page.count('<section class="traj"') == 4
    assert "accuracy" in page and "1.000 ± 0.000" in page                       # the comparison table
    assert "\\xff\\x00" in page                                                 # invalid text shown escaped
    assert "stored 1,000,000 of 5,000,000 characters" in page
    assert len(page) < 400_000                                                  # texts cut for the page


def test_cli_writes_a_report_for_a_stored_run(tmp_path):
    run_dir = make_run(tmp_path)
    assert html_main(["--results", str(tmp_path), "--source", "local", RUN_ID]) == 0
    assert "child output 1" in (run_dir / "report.html").read_text(encoding="utf-8")


def test_a_sweep_page_holds_every_run_and_its_trajectories(tmp_path):
    rows = []
    for run_id in ("niah-1M-aaa", "niah-1M-bbb"):
        make_run(tmp_path, run_id)
        rows += fixture_samples(run_id)[0]
    path = write_sweep_html_report(tmp_path / "sweeps" / "s1", rows, results_dir=tmp_path, simulated=True)
    page = path.read_text(encoding="utf-8")
    assert page.count('<tr class="sample') == 8 and "niah-1M-aaa" in page and "niah-1M-bbb" in page
    assert page.count("child RLM 1/2") == 2 and page.count("child output 0") == 2 and "sweep s1 · sim" in page


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/install_chromium.sh installs it)")
def test_chromium_renders_table_filters_and_a_sample_trajectory(report, tmp_path):
    with Browser(tmp_path / "profile") as browser:
        browser.open(report)
        rows = browser.eval("document.querySelectorAll('#comparison table tr').length")
        assert rows == 4   # the header, rlm at depth 1 and 2, baseline
        headers = browser.eval("Array.from(document.querySelectorAll('#comparison th')).map(t => t.textContent.trim())")
        assert "accuracy" in headers and "ctx exceeded" in headers
        assert browser.eval("document.querySelectorAll('#samples tr.sample').length") == 4
        assert browser.eval("document.querySelectorAll('section.traj:not([hidden])').length") == 0

        browser.eval("document.querySelector('#samples tr.sample').click()")
        shown = browser.eval("document.querySelector('section.traj:not([hidden])').innerText")
        assert "chunks = [context[i:i + 1000]" in shown and "Out [1]" in shown
        assert "5 sub-calls" in shown and "Find the magic number in chunk 0" in shown
        browser.screenshot(tmp_path / "report-sample.png")

        browser.eval("document.querySelectorAll('#samples tr.sample')[1].click()")
        nested = browser.eval("document.querySelector('section.traj:not([hidden]) .child').innerText")
        assert "child_code_0 = llm_query_batched" in nested

        browser.eval("document.querySelector('button[data-filter=wrong]').click()")
        visible = browser.eval("Array.from(document.querySelectorAll('#samples tr.sample'))"
                               ".filter(r => r.style.display !== 'none').length")
        assert visible == 2
        browser.screenshot(tmp_path / "report-wrong.png")
        assert browser.console_errors() == []
    print(f"screenshots in {tmp_path}")
