"""A self-contained HTML report of a ClassWiseStudy: numbers, figures, a sortable table."""

import base64
import html
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._utils._params import parameter_label

__all__ = ["Section", "write_report"]

_STYLE = """
body { font-family: system-ui, -apple-system, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; }
.muted { color: #666; font-size: 0.9em; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 0.7em 1em; min-width: 11em; }
.card .value { font-size: 1.35em; font-weight: 600; }
.card .label { color: #555; font-size: 0.85em; }
.card .interval { color: #333; font-size: 0.9em; }
.card .provenance { color: #777; font-size: 0.75em; font-style: italic; max-width: 16em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85em; width: 100%; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.25em 0.5em; text-align: right; }
th { background: #f5f5f5; cursor: pointer; position: sticky; top: 0; user-select: none; }
th:first-child, td:first-child { text-align: left; }
tr.significant td { background: #eef8ee; }
.verdict { border-left: 4px solid #4a7; padding: 0.2em 1em; background: #f7fbf8; }
.warning { border-left: 4px solid #c62; padding: 0.2em 1em; background: #fdf5ef; }
.table-box { max-height: 34em; overflow: auto; border: 1px solid #ddd; }
"""

# Sorts the per-class table by the clicked column (numbers numerically).
_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = table.querySelectorAll("th");
  headers.forEach(function (header, column) {
    header.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.from(body.rows);
      var ascending = header.dataset.order !== "asc";
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
        var nx = parseFloat(x), ny = parseFloat(y);
        var cmp = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
        return ascending ? cmp : -cmp;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headers.forEach(function (h) { delete h.dataset.order; });
      header.dataset.order = ascending ? "asc" : "desc";
    });
  });
  table.classList.add("sortable-ready");
});
"""


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _number(value, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        magnitude = abs(value)
        if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e4):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return html.escape(str(value))


def _interval(totals, key):
    low, high = totals.get(f"{key}_low"), totals.get(f"{key}_high")
    if low is None or high is None:
        return ""
    return f"[{_number(float(low))}, {_number(float(high))}]"


# the refitted per-class choices, in the order the report shows them
_CHOICES = (
    ("per_class", "'per_class' choice"),
    ("hypergradient", "hypergradient choice"),
    ("naive", "naive transfer"),
)


def _grid_warnings(study):
    """The study's grid-edge warnings, above everything else."""
    messages = getattr(study, "grid_warnings_", [])
    if not messages:
        return ""
    items = "".join(f"<li>{html.escape(message)}</li>" for message in messages)
    return (
        f'<div class="warning"><strong>The grid may be too short.</strong><ul>{items}</ul></div>'
    )


def _verdict(study):
    paragraphs = [
        f"<p><strong>{html.escape(heading)}:</strong> {html.escape(sentence)}</p>"
        for heading, sentence in study.verdict()
    ]
    return '<div class="verdict">' + "".join(paragraphs) + "</div>"


# How each card's number was obtained, shown on the card.
_CROSS_VALIDATED = "cross-validated: chosen and scored on the same folds, as GridSearchCV does"
_ORACLE = "oracle: chosen and scored on the same folds (an optimistic bound)"
_CROSS_FITTED = "cross-fitted: chosen on half of the folds, scored on the other half"
_CHANCE = "chance level: bootstrap of the out-of-fold predictions"
_HELD_OUT = "held-out: refitted on all the training data, scored on the test set"


def _spread_row(totals):
    """The spread of the per-class optima, named for its scale."""
    if totals.get("spread_scale", "log10") == "log10":
        return ("IQR of log10 per-class optima", _number(totals["iqr_log10_optimum"]), "", _ORACLE)
    return ("IQR of per-class optima", _number(totals.get("iqr_optimum")), "", _ORACLE)


def _plateau(study):
    """The values within noise of the best global one (`global_plateau_`), when others are."""
    plateau = getattr(study, "global_plateau_", [])
    if len(plateau) < 2:
        return ""
    low, high = study.totals_.get("global_plateau_low"), study.totals_.get("global_plateau_high")
    if low is None or not np.isfinite(low):
        shown = ", ".join(_number(value) for value in plateau)
    else:
        shown = f"{_number(float(low))} to {_number(float(high))}"
    return f"{len(plateau)} values within noise of it (paired test): {shown}"


def _cards(study):
    totals = study.totals_
    metric = study.metric
    label = parameter_label(study.param_name)
    cards = [
        (f"best global {label}", _number(study.best_global_), _plateau(study), _CROSS_VALIDATED),
        (
            f"{study.global_metric_} at the global best",
            _number(totals["global_metric_at_best"]),
            "",
            _CROSS_VALIDATED,
        ),
        (f"oracle gap (mean {metric} over classes)", _number(totals["oracle_gap"]), "", _ORACLE),
        (
            "honest gain of per-class choices",
            _number(totals["honest_gain"]),
            _interval(totals, "honest_gain"),
            _CROSS_FITTED,
        ),
        (
            "classes with a significant gain",
            f"{totals['n_significant']} / {totals['n_classes']}",
            "",
            _CROSS_FITTED,
        ),
        _spread_row(totals),
        (
            "worst-class accuracy, global → per-class optima",
            f"{_number(totals['worst_class_accuracy_global'])} → "
            f"{_number(totals['worst_class_accuracy_per_class'])}",
            "",
            "global: cross-validated; per-class: oracle (each class at its own optimum "
            "on the same folds)",
        ),
    ]
    if "coupled_oracle_gap" in totals:
        cards.append(
            (
                f"coupled oracle: per-class {label} tuned on the folds",
                _number(totals["coupled_oracle_gap"]),
                _interval(totals, "coupled_oracle_gap"),
                _ORACLE + "; tuned by hypergradient with the softmax coupling",
            )
        )
    if "spread_p_value" in totals:
        cards.append(
            (
                "spread of optima: observed vs chance",
                f"{_number(totals['chance_spread'])} vs {_number(totals['spread_null_median'])}",
                f"p = {_number(totals['spread_p_value'])}",
                _CHANCE,
            )
        )
    for choice, choice_label in _CHOICES:
        key = f"realised_gain_{choice}"
        if key in totals:
            cards.append(
                (
                    f"realised gain, {_choice_label(study, choice, choice_label)}",
                    _number(totals[key]),
                    _interval(totals, key),
                    _HELD_OUT,
                )
            )
    parts = []
    for card_label, value, interval, provenance in cards:
        interval_html = f'<div class="interval">{html.escape(interval)}</div>' if interval else ""
        parts.append(
            f'<div class="card"><div class="value">{value}</div>{interval_html}'
            f'<div class="label">{html.escape(card_label)}</div>'
            f'<div class="provenance">{html.escape(provenance)}</div></div>'
        )
    return '<div class="cards">' + "".join(parts) + "</div>"


def _held_out_table(study, table_id="held-out"):
    """Held-out accuracy, deviance and worst-class accuracy of each refitted choice."""
    totals = study.totals_
    if "test_accuracy_global" not in totals:
        return ""
    choices = [("global", "global best")] + [
        (choice, _choice_label(study, choice, label))
        for choice, label in _CHOICES
        if f"test_accuracy_{choice}" in totals
    ]
    head = (
        "<th>refitted with</th><th>accuracy</th><th>deviance</th><th>worst-class accuracy</th>"
        f"<th>realised gain ({html.escape(study.metric)})</th>"
    )
    rows = []
    for choice, label in choices:
        gain = (
            "—"
            if choice == "global"
            else f"{_number(totals[f'realised_gain_{choice}'])} "
            f"{_interval(totals, f'realised_gain_{choice}')}"
        )
        cells = [
            html.escape(label),
            _number(totals[f"test_accuracy_{choice}"]),
            _number(totals[f"test_deviance_{choice}"]),
            _number(totals[f"test_worst_class_accuracy_{choice}"]),
            gain,
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return (
        "<h3>Held-out comparison</h3>"
        f'<p class="muted">{html.escape(_HELD_OUT)}. Lower deviance is better.</p>'
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _table(summary, table_id="classes"):
    columns = ["class"] + list(summary.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    rows = []
    for label, row in summary.iterrows():
        cells = [f'<td data-value="{html.escape(str(label))}">{html.escape(str(label))}</td>']
        for column in summary.columns:
            value = row[column]
            sort_value = (
                float(value)
                if isinstance(value, (int, float, np.number, bool, np.bool_))
                else str(value)
            )
            cells.append(f'<td data-value="{html.escape(str(sort_value))}">{_number(value)}</td>')
        css = ' class="significant"' if row.get("significant", False) else ""
        rows.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    return (
        f'<div class="table-box"><table class="sortable" id="{table_id}"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


@dataclass
class Section:
    """A further part of a report, after the main study.

    Parameters
    ----------
    heading : str
    name : str
        Prefix of the section's files (letters, digits, "_").
    description : str, default=""
        A sentence under the heading.
    study : ClassWiseStudy, default=None
        A fitted study (an `AugmentationStudy`...), shown as the main one is:
        warnings, verdict, cards, held-out table, figures, per-class table.
    figures : sequence of (name, caption, draw), default=()
        Further figures; ``draw()`` returns a Display (with ``figure_``) or a
        matplotlib Figure.
    table : pandas.DataFrame, default=None
        A table shown after the figures (and written as ``<name>_table.csv``).
    """

    heading: str
    name: str
    description: str = ""
    study: object = None
    figures: Sequence = ()
    table: object = None


def _study_figures(study):
    """(name, caption, draw) of the figures of a fitted study."""
    from ..plotting import (
        ChanceLevelDisplay,
        ClassWiseHeatmapDisplay,
        GlobalChoiceLossDisplay,
        JointOptimaDisplay,
        OptimumHistogramDisplay,
        RealisedGainDisplay,
    )

    pairs = bool(study.param_values_) and isinstance(study.param_values_[0], tuple)
    figures = [
        (
            "heatmap",
            "Per-class metric along the parameter relative to the class's value at the "
            "global choice (blue: better for the class, red: worse, in the metric's units); "
            "dots mark each class's optimum, the dashed line the global one; labels carry "
            "each class's support.",
            lambda: ClassWiseHeatmapDisplay.from_results(study),
        ),
        (
            "optima",
            "Where the classes' optima lie"
            + (
                ": how many classes have their best pair in each cell (the global best framed)."
                if pairs
                else "."
            ),
            lambda: (JointOptimaDisplay if pairs else OptimumHistogramDisplay).from_results(study),
        ),
        (
            "oracle_loss",
            "What the global choice costs each class (oracle).",
            lambda: GlobalChoiceLossDisplay.from_results(study, kind="oracle"),
        ),
        (
            "honest_gain",
            "Gain of per-class choices, cross-fitted, with 95 % intervals.",
            lambda: GlobalChoiceLossDisplay.from_results(study, kind="honest"),
        ),
    ]
    if "coupled_oracle_gain" in study.summary_:
        figures.append(
            (
                "coupled_oracle",
                "Gain of the coupled oracle per class: per-class C tuned by hypergradient "
                "on the folds' held-out deviance, scored on those folds.",
                lambda: GlobalChoiceLossDisplay.from_results(study, kind="coupled_oracle"),
            )
        )
    if getattr(study, "chance_", None) is not None:
        figures.append(
            (
                "chance",
                "The observed spread of the per-class optima and oracle gap (red) against "
                "what one shared optimum gives with this much data (bootstrap of the "
                "out-of-fold predictions).",
                lambda: ChanceLevelDisplay.from_results(study),
            )
        )
    for choice, label in _CHOICES:
        if f"realised_gain_{choice}" in study.summary_:
            figures.append(
                (
                    f"realised_gain_{choice}",
                    f"Gain of the refitted model, {_choice_label(study, choice, label)}, on "
                    "held-out data, with intervals.",
                    lambda choice=choice: GlobalChoiceLossDisplay.from_results(
                        study, kind=f"realised_{choice}"
                    ),
                )
            )
    if any(f"realised_gain_{choice}" in study.summary_ for choice, _ in _CHOICES):
        figures.append(
            (
                "realised_vs_oracle",
                "Per class: the gain realised on held-out data against what the global "
                "choice cost the class in cross-validation (the oracle loss).",
                lambda: RealisedGainDisplay.from_results(study),
            )
        )
    return figures


def _choice_label(study, choice, label):
    """How a refitted choice is named: the naive transfer of a strength is the
    class-conditional augmentation."""
    if choice == "naive" and getattr(study, "_subject", "") == "augmentation":
        return "class-conditional augmentation (each class at its own best)"
    return label


def _figures_html(figures, out, prefix):
    """Draw, save (``<prefix><name>.png``) and embed figures."""
    import matplotlib.pyplot as plt

    parts = []
    for name, caption, draw in figures:
        drawn = draw()
        figure = getattr(drawn, "figure_", drawn)
        data = _png(figure)
        plt.close(figure)
        (out / f"{prefix}{name}.png").write_bytes(data)
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(
            f'<figure><img alt="{prefix}{name}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    return "".join(parts)


def _descent_history(study):
    """The coupled oracle's hypergradient descent, one row per step, or None."""
    import pandas as pd

    oracle = getattr(study, "coupled_oracle_", None)
    history = getattr(oracle, "hypergradient_history_", None)
    return pd.DataFrame(history) if history else None


def _write_study_files(study, out, prefix):
    """The study's tables: returns the names of the files written."""
    study.summary_.to_csv(out / f"{prefix}summary.csv")
    study.totals_.to_csv(out / f"{prefix}totals.csv", header=["value"])
    study.curve_.to_csv(out / f"{prefix}curve.csv", index=False)
    names = [f"{prefix}summary.csv", f"{prefix}totals.csv", f"{prefix}curve.csv"]
    history = _descent_history(study)
    if history is not None:
        history.to_csv(out / f"{prefix}hypergradient.csv", index=False)
        names.append(f"{prefix}hypergradient.csv")
    try:
        curve = study.curve_.copy()
        curve[study.param_name] = curve[study.param_name].astype(str)
        curve["class"] = curve["class"].astype(str)
        curve.to_parquet(out / f"{prefix}curve.parquet", index=False)
    except ImportError:
        pass
    return names


def _history_note(files, prefix):
    name = f"{prefix}hypergradient.csv"
    if name not in files:
        return ""
    return (
        f" {name}: the coupled oracle's descent, one row per step (its loss, "
        "stationarity, trust radius, precisions and conjugate-gradient products)."
    )


def _study_html(study, out, prefix, heading_level=2):
    """The block of a fitted study: its files written under `prefix`, its HTML returned."""
    files = _write_study_files(study, out, prefix)
    figure_html = _figures_html(_study_figures(study), out, prefix)
    summary = study.summary_.copy()
    summary.insert(0, "support", summary.pop("support"))
    label = html.escape(parameter_label(study.param_name))
    h = f"h{heading_level}"
    coupled = (
        f"Coupled oracle: per-class {label} tuned by hypergradient on the folds' held-out "
        "deviance and scored on the same folds (the most a per-class vector gains there, with "
        "the softmax coupling). "
        if "coupled_oracle_gap" in study.totals_
        else ""
    )
    table_id = f"{prefix}classes" if prefix else "classes"
    history = _history_note(files, prefix)
    return f"""{_grid_warnings(study)}
<{h}>Verdict</{h}>
{_verdict(study)}
<{h}>Summary</{h}>
{_cards(study)}
{_held_out_table(study, f"{prefix}held-out")}
<p class="muted">Oracle: choices and scores on the same folds (an optimistic bound).
{coupled}Honest: per-class and global choices made on one half of the folds, scored
on the other; intervals are {int(round(100 * study.confidence_level))} % bootstrap intervals.
Realised: models refitted with per-class {label} values, against the one refitted
with the global best, on held-out data; the naive transfer refits each class's own optimum
of the shared sweep. Metric: {html.escape(study.metric)}.</p>
<{h}>Figures</{h}>
{figure_html}
<{h}>Per class</{h}>
<p class="muted">Click a column to sort. Rows in green: a significant honest gain.</p>
{_table(summary, table_id)}
<p class="muted">Files: {", ".join(files)}, the figures as PNG.{history}</p>"""


def _section_html(section, out):
    if not re.fullmatch(r"[A-Za-z0-9_]+", section.name):
        raise ValueError(f"Section name {section.name!r}: use letters, digits and '_'.")
    prefix = f"{section.name}_"
    parts = [f'<h2 id="{prefix[:-1]}">{html.escape(section.heading)}</h2>']
    if section.description:
        parts.append(f'<p class="muted">{html.escape(section.description)}</p>')
    if section.study is not None:
        parts.append(_study_html(section.study, out, prefix, heading_level=3))
    if section.figures:
        parts.append(_figures_html(section.figures, out, prefix))
    if section.table is not None:
        section.table.to_csv(out / f"{prefix}table.csv")
        parts.append(_table(section.table, f"{prefix}table"))
    return "\n".join(parts)


def write_report(
    study, out, *, title="Class-wise regularization study", description="", sections=()
):
    """Write the report of a fitted ClassWiseStudy into the folder `out`.

    Files: ``index.html`` (self-contained: figures embedded, no external
    resource), ``summary.csv`` (one row per class), ``totals.csv``,
    ``curve.csv`` (the tidy validation curve; also ``curve.parquet`` when
    pyarrow is installed), ``hypergradient.csv`` (the coupled oracle's
    descent, one row per step, when it was computed) and the figures as PNG;
    each section's files carry its name as a prefix.

    Parameters
    ----------
    study : ClassWiseStudy
        Fitted.
    out : path-like
        Created if missing.
    title : str
    description : str
        A sentence about the data and the setup, shown under the title.
    sections : sequence of Section, default=()
        Further parts after the main study (an augmentation study, a view
        of the ambiguous classes...), with a table of contents.

    Returns
    -------
    pathlib.Path
        The path of index.html.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    body = _study_html(study, out, "")
    contents = ""
    if sections:
        items = "".join(
            f'<li><a href="#{section.name}">{html.escape(section.heading)}</a></li>'
            for section in sections
        )
        contents = f'<p class="muted">Further sections:</p><ul>{items}</ul>'
        body += "".join(_section_html(section, out) for section in sections)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="muted">{html.escape(description)}</p>
{contents}
{body}
<script>{_SCRIPT}</script>
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
