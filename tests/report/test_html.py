"""The report: its files, and how a real headless browser renders it."""

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.datasets import make_frozen_features
from sklearn_classreg.model_selection import ClassWiseStudy
from sklearn_classreg.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    X, y = make_frozen_features(700, 12, 6, class_sep=np.linspace(0.2, 1.0, 6), random_state=0)
    study = ClassWiseStudy(
        ClassWiseRegularizedLogisticRegression(max_iter=500),
        param_range=list(np.logspace(-3, 1, 5)),
        cv=3,
        n_bootstrap=100,
        random_state=0,
    )
    study.fit(X[:500], y[:500], X_test=X[500:], y_test=y[500:])
    out = tmp_path_factory.mktemp("report")
    return write_report(study, out, description="synthetic test data"), study


def test_report_files_are_written(report):
    index, study = report
    out = index.parent
    for name in (
        "index.html",
        "summary.csv",
        "totals.csv",
        "curve.csv",
        "heatmap.png",
        "optima.png",
        "oracle_loss.png",
        "honest_gain.png",
        "coupled_oracle.png",
        "chance.png",
        "realised_gain_per_class.png",
        "realised_gain_hypergradient.png",
        "realised_gain_naive.png",
        "realised_vs_oracle.png",
        "hypergradient.csv",
    ):
        assert (out / name).is_file(), name
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert len(summary) == 6 and "honest_gain" in summary
    # the coupled oracle's descent, step by step (the start is step 0)
    descent = pd.read_csv(out / "hypergradient.csv")
    history = study.coupled_oracle_.hypergradient_history_
    assert descent["iteration"].tolist() == list(range(len(history)))
    np.testing.assert_allclose(descent["stationarity"], [e["stationarity"] for e in history])
    assert {"theta_loss", "radius", "accepted", "cg_products"} <= set(descent.columns)
    page = index.read_text()
    assert page.count("data:image/png;base64,") == 10
    assert not re.search(r"""(src|href)=["']https?://""", page), "the page fetches resources"
    assert f"{study.best_global_:.3g}" in page
    # the verdict opens the page, before the summary cards
    verdict = page.index("<h2>Verdict</h2>")
    assert verdict < page.index("<h2>Summary</h2>")
    for heading, _ in study.verdict():
        assert page.index(heading) > verdict


def test_every_card_says_how_its_number_was_obtained(report):
    index, study = report
    page = index.read_text()
    cards = re.findall(r'<div class="card">(.*?)</div></div>', page)
    assert len(cards) >= 10
    for card in cards:
        provenance = re.search(r'<div class="provenance">([^<]+)', card).group(1)
        assert provenance.split(":")[0] in (
            "cross-validated",
            "oracle",
            "cross-fitted",
            "chance level",
            "held-out",
            "global",
        ), card
    worst = next(card for card in cards if "worst-class accuracy, global" in card)
    assert "per-class: oracle" in worst  # made and scored on the same folds
    realised = [card for card in cards if "realised gain" in card]
    assert len(realised) == 3 and all('class="interval">[' in card for card in realised)


def test_held_out_accuracy_deviance_and_worst_class_side_by_side(report):
    index, study = report
    page = index.read_text()
    table = page[page.index('<table id="held-out">') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert "accuracy</th><th>deviance</th><th>worst-class accuracy" in rows[0]
    totals = study.totals_
    for row, choice in zip(
        rows[1:], ("global", "per_class", "hypergradient", "naive"), strict=True
    ):
        cells = re.findall(r"<td>(.*?)</td>", row)
        assert cells[1] == f"{totals[f'test_accuracy_{choice}']:.3g}"
        assert cells[2] == f"{totals[f'test_deviance_{choice}']:.3g}"
        assert cells[3] == f"{totals[f'test_worst_class_accuracy_{choice}']:.3g}"


def _browser(*arguments, tmp_path):
    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (.ci/run installs it)")
    command = [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def test_report_renders_in_a_headless_browser(report, tmp_path):
    index, _ = report
    dom = _browser("--dump-dom", index.as_uri(), tmp_path=tmp_path).stdout
    assert 'class="sortable sortable-ready"' in dom, "the table script did not run"
    per_class_table = dom[dom.index('id="classes"') :]
    assert per_class_table.count("<tr") == 7  # header + one row per class
    screenshot = tmp_path / "page.png"
    _browser(
        "--window-size=1200,1600", f"--screenshot={screenshot}", index.as_uri(), tmp_path=tmp_path
    )
    from PIL import Image

    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=float)
    assert pixels.std() > 10, "the page rendered blank"
    assert (pixels < 128).mean() > 0.01, "no text or figure on the page"


def test_the_best_global_card_names_the_values_within_noise_of_it(report):
    index, study = report
    cards = re.findall(r'<div class="card">(.*?)</div></div>', index.read_text())
    best = next(card for card in cards if "best global C" in card)
    plateau = study.global_plateau_
    assert len(plateau) > 1 and study.best_global_ in plateau  # a flat top on these data
    assert f"{len(plateau)} values within noise of it (paired test): " in best
    assert f"{min(plateau):.3g} to {max(plateau):.3g}" in best
