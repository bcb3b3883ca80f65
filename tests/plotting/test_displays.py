"""The study's Displays draw what they claim, and import matplotlib only to plot."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn_classreg import ClassWiseRegularizedLogisticRegression as Model  # noqa: E402
from sklearn_classreg.datasets import make_frozen_features  # noqa: E402
from sklearn_classreg.model_selection import ClassWiseStudy  # noqa: E402
from sklearn_classreg.plotting import (  # noqa: E402
    ChanceLevelDisplay,
    ClassWiseHeatmapDisplay,
    GlobalChoiceLossDisplay,
    OptimumHistogramDisplay,
    RealisedGainDisplay,
)


@pytest.fixture(scope="module")
def study():
    X, y = make_frozen_features(600, 12, 6, class_sep=np.linspace(0.2, 1.2, 6), random_state=0)
    return ClassWiseStudy(
        Model(max_iter=1000),
        param_range=list(np.logspace(-3, 1, 5)),
        cv=3,
        n_bootstrap=50,
        random_state=0,
    ).fit(X[:450], y[:450], X_test=X[450:], y_test=y[450:])


def test_heatmap_is_the_signed_metric_relative_to_the_global_choice(study):
    display = ClassWiseHeatmapDisplay.from_results(study)
    assert display.values.shape == (6, 5)
    assert np.all(np.diff(display.best_index) >= 0)  # rows sorted by optimum
    np.testing.assert_array_equal(display.values[:, study.best_global_index_], 0.0)
    # in the metric's units: recall at a class's optimum minus recall at the global best
    curve = study.curve_[study.curve_.metric == "recall"]
    recall = curve.groupby(["class", "value_index"]).value.mean()
    for row, label in enumerate(display.classes):
        best = display.best_index[row]
        expected = recall[(label, best)] - recall[(label, study.best_global_index_)]
        assert display.values[row, best] == pytest.approx(expected)
        assert display.values[row, best] >= 0  # a class's optimum is never worse for it
    support = study.summary_["support"].reindex(display.classes).to_numpy()
    np.testing.assert_array_equal(display.support, support)
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    assert labels == [f"{c} (n={int(n)})" for c, n in zip(display.classes, support, strict=True)]
    limits = display.image_.get_clim()
    assert limits[0] == -limits[1] > -np.inf  # a diverging scale centred on 0
    assert display.ax_.get_xlabel() == "C"
    plt.close("all")


def test_heatmap_legend_is_visible_on_its_white_background(study):
    display = ClassWiseHeatmapDisplay.from_results(study)
    legend = display.ax_.get_legend()
    for handle in legend.legend_handles:
        color = handle.get_color() if hasattr(handle, "get_color") else handle.get_facecolor()
        rgb = np.asarray(matplotlib.colors.to_rgba_array(color))[0, :3]
        assert rgb.max() < 0.5, f"{handle} is drawn in a light colour"
    plt.close("all")


def test_bar_charts_name_the_classes_that_pay_and_gain_most():
    classes = np.array([f"class {i}" for i in range(100)])
    values = np.linspace(-1.0, 1.0, 100)
    summary = __import__("pandas").DataFrame(
        {"honest_gain": values, "honest_gain_low": values - 0.1, "honest_gain_high": values + 0.1,
         "oracle_loss": np.abs(values)},
        index=classes,
    )  # fmt: skip

    class Study:  # a fitted study's attributes that the display reads
        summary_, metric = summary, "recall"

    bars = GlobalChoiceLossDisplay.from_results(Study(), kind="honest", top=20)
    assert len(bars.classes) == 40 and bars.n_classes == 100
    assert list(bars.classes[:20]) == list(classes[::-1][:20])  # the 20 that gain most
    assert list(bars.classes[20:]) == list(classes[::-1][-20:])  # the 20 that pay most
    ticks = [t.get_text() for t in bars.ax_.get_xticklabels()]
    assert ticks == [str(c) for c in bars.classes]
    assert "the 20 classes that gain most and the 20 that pay most" in bars.ax_.get_title()
    assert bars.ax_.get_xlabel() == "class (40 of 100, sorted)"
    oracle = GlobalChoiceLossDisplay.from_results(Study(), kind="oracle", top=20)
    assert len(oracle.classes) == 20 and np.all(
        oracle.values >= np.abs(values)[np.argsort(-np.abs(values))][19]
    )
    every = GlobalChoiceLossDisplay.from_results(Study(), kind="honest", top=None)
    assert len(every.classes) == 100
    plt.close("all")


def test_heatmap_stays_readable_with_250_classes():
    X, y = make_frozen_features(2500, 16, 250, random_state=0)
    study = ClassWiseStudy(
        Model(max_iter=300),
        param_range=[0.01, 1.0],
        cv=2,
        n_bootstrap=20,
        coupled_oracle=False,
        random_state=0,
    ).fit(X, y)
    display = ClassWiseHeatmapDisplay.from_results(study)
    assert display.values.shape == (250, 2) and len(display.ax_.get_yticks()) == 0
    plt.close("all")


def test_histogram_and_loss_displays(study):
    histogram = OptimumHistogramDisplay.from_results(study)
    assert histogram.log_scale and len(histogram.optima) == 6
    kinds = ("oracle", "honest", "coupled_oracle", "realised_per_class")
    for kind in kinds + ("realised_hypergradient", "realised_naive"):
        bars = GlobalChoiceLossDisplay.from_results(study, kind=kind)
        assert np.all(np.diff(bars.values) <= 0)
        assert len(bars.ax_.patches) == 6
    _, ax = plt.subplots()
    assert GlobalChoiceLossDisplay.from_results(study, ax=ax).ax_ is ax
    plt.close("all")


def test_chance_and_realised_gain_displays(study):
    chance = ChanceLevelDisplay.from_results(study)
    assert len(chance.axes_) == 2
    for ax, observed in zip(chance.axes_, (chance.spread, chance.oracle_gap), strict=True):
        assert len(ax.patches) == 30  # the null's histogram
        assert ax.lines[0].get_xdata()[0] == pytest.approx(observed)
    scatter = RealisedGainDisplay.from_results(study)
    assert scatter.choice == "hypergradient"  # the first computed
    points = scatter.ax_.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], study.summary_.oracle_loss)
    np.testing.assert_allclose(points[:, 1], study.summary_.realised_gain_hypergradient)
    naive = RealisedGainDisplay.from_results(study, choice="naive")
    np.testing.assert_allclose(
        naive.ax_.collections[0].get_offsets()[:, 1], study.summary_.realised_gain_naive
    )
    plt.close("all")


def test_from_estimator_runs_the_study():
    X, y = make_frozen_features(300, 8, 3, random_state=1)
    display = OptimumHistogramDisplay.from_estimator(
        Model(max_iter=500),
        X,
        y,
        param_range=[0.1, 1.0],
        cv=2,
        study_kwargs=dict(n_bootstrap=20, coupled_oracle=False, random_state=0),
    )
    assert len(display.optima) == 3
    plt.close("all")


def test_errors_name_the_fix(study):
    with pytest.raises(TypeError, match="fitted ClassWiseStudy"):
        OptimumHistogramDisplay.from_results(ClassWiseStudy())
    unrealised = ClassWiseStudy(param_range=[0.1, 1.0], cv=2, n_bootstrap=10, coupled_oracle=False)
    X, y = make_frozen_features(200, 8, 3, random_state=2)
    unrealised.fit(X, y)
    with pytest.raises(ValueError, match="X_test and y_test"):
        GlobalChoiceLossDisplay.from_results(unrealised, kind="realised_naive")
    with pytest.raises(ValueError, match="X_test and y_test"):
        RealisedGainDisplay.from_results(unrealised)
    with pytest.raises(ValueError, match="was not computed"):
        RealisedGainDisplay.from_results(study, choice="grid")
    quick = ClassWiseStudy(
        param_range=[0.1, 1.0], cv=2, n_bootstrap=10, chance=False, coupled_oracle=False
    ).fit(X, y)
    with pytest.raises(ValueError, match="chance=True"):
        ChanceLevelDisplay.from_results(quick)
    with pytest.raises(ValueError, match="coupled_oracle=True"):
        GlobalChoiceLossDisplay.from_results(quick, kind="coupled_oracle")
    with pytest.raises(ValueError, match="metric must be one of"):
        ClassWiseHeatmapDisplay.from_results(study, metric="f1")


def test_importing_plotting_does_not_import_matplotlib():
    code = "import sys, sklearn_classreg.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_joint_optima_and_upstream_view_displays():
    torch = pytest.importorskip("torch")
    from sklearn_classreg.datasets import load_omniglot_sample
    from sklearn_classreg.feature_extraction import FrozenFeatureExtractor
    from sklearn_classreg.model_selection import AugmentationStudy
    from sklearn_classreg.plotting import JointOptimaDisplay, UpstreamViewDisplay

    X, y = load_omniglot_sample()
    keep = np.isin(y, np.unique(y)[:4])
    X, y = X[keep][::2], y[keep][::2]
    torch.manual_seed(0)
    network = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten()
    )
    extractor = FrozenFeatureExtractor(network, augment="noise", random_state=0)
    common = dict(param_range=[0.0, 0.5, 1.0], cv=2, n_bootstrap=20, chance=False)
    joint = AugmentationStudy(extractor, Model(max_iter=2000), C_range=[0.1, 1.0], **common)
    joint.fit(X, y)
    display = JointOptimaDisplay.from_results(joint)
    assert display.counts.shape == (3, 2) and display.counts.sum() == 4
    assert display.names == ("strength", "C")
    best = joint.param_values_[joint.best_global_index_]
    assert display.global_cell == ([0.0, 0.5, 1.0].index(best[0]), [0.1, 1.0].index(best[1]))
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["0.1", "1"]
    with pytest.raises(ValueError, match="pairs"):
        JointOptimaDisplay.from_results(
            AugmentationStudy(extractor, Model(max_iter=2000), **common).fit(X, y)
        )
    study = AugmentationStudy(extractor, Model(max_iter=2000), **common).fit(X, y)
    view = study.upstream_view(n_classes=3)
    lines = UpstreamViewDisplay.from_view(view)
    assert len(lines.axes_[0].get_lines()) == 3  # one per pair
    assert len(lines.axes_[1].get_lines()) == 3  # one per class
    panels = UpstreamViewDisplay.from_view(view, kind="projections")
    assert [ax.get_title() for ax in panels.axes_] == ["strength 0", "strength 0.5", "strength 1"]
    with pytest.raises(ValueError, match="kind must be"):
        UpstreamViewDisplay(view, kind="bars")
    plt.close("all")
