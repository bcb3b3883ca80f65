"""The main job: python -m sklearn_classreg, on files and image folders; clear errors."""

import html
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_classreg.cli import main
from sklearn_classreg.datasets import make_frozen_features

pytest.importorskip("matplotlib")
FAST = ["--Cs", "0.01,1", "--cv", "2", "--n-bootstrap", "50", "--quiet"]


def test_npz_features_to_a_report(tmp_path, capsys):
    X, y = make_frozen_features(240, 10, 4, random_state=0)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    out = tmp_path / "report"
    main(["--data", str(tmp_path / "data.npz"), "--out", str(out), *FAST])
    assert (out / "index.html").is_file() and (out / "summary.csv").is_file()
    printed = capsys.readouterr().out  # the verdict, in plain words
    assert "What per-class regularization could win at most: " in printed
    assert "What choosing per class wins on held-out data: " in printed
    assert "How far the spread of optima is from chance: " in printed


def test_a_fixed_test_file_and_the_fit_settings(tmp_path, capsys):
    """--test-data holds the realised gains' held-out set (all of --data trains);
    --tol, --max-outer-iter and --outer-tol reach the study, and the report says so."""
    X, y = make_frozen_features(400, 10, 4, random_state=0)
    np.savez(tmp_path / "train.npz", X=X[:300], y=y[:300])
    np.savez(tmp_path / "test.npz", X=X[300:], y=y[300:])
    out = tmp_path / "report"
    settings = ["--tol", "1e-6", "--max-outer-iter", "0", "--outer-tol", "1e-2"]
    settings += ["--about", "ResNet-50 penultimate layer, ImageNet weights"]
    settings += ["--Cs", "1e-3,0.1,10"]  # the descent is bounded by the grid: room to move
    with pytest.warns(ConvergenceWarning, match="max_outer_iter=0 steps"):
        main(
            ["--data", str(tmp_path / "train.npz"), "--test-data", str(tmp_path / "test.npz")]
            + ["--out", str(out), *FAST, *settings]
        )
    html = (out / "index.html").read_text()
    assert "300 training samples" in html and "100 held-out samples from features" in html
    assert "relative duality gap of 1e-06" in html and "standardised" in html
    assert "About the data: ResNet-50 penultimate layer, ImageNet weights." in html
    assert "the sum of the per-sample losses" in html
    totals = pd.read_csv(out / "totals.csv", index_col=0).iloc[:, 0]
    largest = float(totals["largest_gap"])
    assert 0 < largest <= 1e-6 and f"(the largest on the curve: {largest:.2g})" in html
    assert "may be higher" in capsys.readouterr().out  # the unconverged coupled oracle
    totals = pd.read_csv(out / "totals.csv", index_col=0).iloc[:, 0]
    assert float(totals["coupled_oracle_outer_iter"]) == 0


def test_label_smoothing_as_the_swept_parameter(tmp_path, capsys):
    X, y = make_frozen_features(400, 10, 4, random_state=0)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    out = tmp_path / "report"
    grid = ["--label-smoothings", "0,0.1,0.3", "--C", "0.5", "--no-extend-grid"]
    main(["--data", str(tmp_path / "data.npz"), "--out", str(out), "--param", "label_smoothing"]
         + grid + ["--cv", "2", "--n-bootstrap", "50", "--quiet"])  # fmt: skip
    assert "label_smoothing study: best global label_smoothing = " in capsys.readouterr().out
    html = (out / "index.html").read_text()
    assert "label smoothing over 3 values from 0 to 0.3 at C = 0.5" in html
    totals = pd.read_csv(out / "totals.csv", index_col=0).iloc[:, 0]
    assert totals["param_name"] == "classwiseregularizedlogisticregression__label_smoothing"
    assert np.isfinite(float(totals["realised_gain_naive"]))  # refitted per class
    assert totals["spread_scale"] == "linear"
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert set(summary["best_value"]) <= {0.0, 0.1, 0.3}


def test_a_grid_that_stops_short_is_extended(tmp_path):
    X, y = make_frozen_features(300, 10, 4, class_sep=1.5, random_state=0)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    short = ["--Cs", "1e-5,3e-5,1e-4,3e-4", "--metric", "deviance"]
    short += ["--cv", "2", "--n-bootstrap", "50", "--quiet"]
    out = tmp_path / "extended"
    main(["--data", str(tmp_path / "data.npz"), "--out", str(out), *short])
    totals = pd.read_csv(out / "totals.csv", index_col=0).iloc[:, 0]
    curve = pd.read_csv(out / "curve.csv")
    values = np.unique(curve.iloc[:, 0])
    assert values.max() > 3e-4 and len(values) > 4  # the top end grew
    assert np.isin([1e-5, 3e-5, 1e-4, 3e-4], values).all()  # the requested values stay
    assert "extended from 1e-05..0.0003: optima sat at its end" in (out / "index.html").read_text()
    assert float(totals["best_global"]) >= 3e-4
    kept = tmp_path / "kept"
    main(["--data", str(tmp_path / "data.npz"), "--out", str(kept), "--no-extend-grid", *short])
    assert len(np.unique(pd.read_csv(kept / "curve.csv").iloc[:, 0])) == 4


def test_extended_grid_keeps_the_spacing_and_the_range():
    from sklearn_classreg.cli import extended_grid

    class Study:  # the study's verdict on its grid's ends (see ClassWiseStudy._grid_edges)
        def __init__(self, *ends):
            self.grid_short_ends_ = frozenset(ends)

    grid = np.array([1e-2, 1e-1, 1.0, 10.0])
    np.testing.assert_allclose(
        extended_grid(Study("high"), grid), [1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0]
    )
    np.testing.assert_allclose(
        extended_grid(Study("low"), grid), [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    )
    assert extended_grid(Study(), grid) is None  # no end flagged
    smoothing = np.array([0.0, 0.3, 0.6, 0.9])
    assert extended_grid(Study("high"), smoothing, log=False) is None  # 1.2 > 1
    assert extended_grid(Study("low"), smoothing, log=False) is None  # below 0
    np.testing.assert_allclose(
        extended_grid(Study("high"), np.array([0.0, 0.1, 0.2]), log=False),
        [0.0, 0.1, 0.2, 0.3, 0.4],
    )


def test_csv_with_a_label_column(tmp_path):
    X, y = make_frozen_features(240, 6, 3, random_state=1)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(
        kind=np.array(list("abc"))[y]
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "report"
    main(
        [
            "--data",
            str(tmp_path / "data.csv"),
            "--label-column",
            "kind",
            "--out",
            str(out),
            "--metric",
            "deviance",
            *FAST,
        ]
    )
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert list(summary.index) == ["a", "b", "c"]


def test_image_folder_through_the_frozen_network(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("circle", "square"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 60 if label == "circle" else 200, (20, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / label / f"{i}.png")
    out = tmp_path / "report"
    main(
        [
            "--data",
            str(tmp_path / "images"),
            "--image-size",
            "32",
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(out),
            "--test-size",
            "0.25",
            *FAST,
        ]
    )
    assert (out / "index.html").is_file()


def omniglot_images(tmp_path, n_classes=4, per_class=10):
    from sklearn_classreg.datasets import load_omniglot_sample

    X, y = load_omniglot_sample()
    keep = np.concatenate(
        [np.flatnonzero(y == label)[:per_class] for label in np.unique(y)[:n_classes]]
    )
    path = tmp_path / "images.npz"
    np.savez(path, X=X[keep], y=y[keep])
    return path


def test_sweep_both_writes_every_section(tmp_path, capsys):
    pytest.importorskip("efficientnet_lite_pytorch")
    out = tmp_path / "report"
    arguments = ["--data", str(omniglot_images(tmp_path)), "--out", str(out), "--sweep", "both"]
    arguments += ["--strengths", "0,0.5,1", "--augment", "crop,noise", "--n-augment", "2"]
    arguments += ["--joint-Cs", "0.1,1", "--lda-classes", "3", "--cache", str(tmp_path / "cache")]
    main([*arguments, *FAST])
    page = (out / "index.html").read_text()
    headings = [
        "Augmentation study",
        "Joint study: augmentation strength x C",
        "Upstream: the most ambiguous classes along the strength",
    ]
    positions = [page.index(f">{heading}</h2>") for heading in headings]
    assert positions == sorted(positions)
    for name in ("summary.csv", "augmentation_summary.csv", "joint_summary.csv"):
        assert (out / name).is_file()
    assert (out / "upstream_separability.png").is_file()
    assert len(pd.read_csv(out / "upstream_table.csv", index_col=0)) == 3
    augmentation = pd.read_csv(out / "augmentation_totals.csv", index_col=0).iloc[:, 0]
    assert augmentation["param_name"] == "strength"
    joint = pd.read_csv(out / "joint_curve.csv")
    assert joint["(strength, C)"].nunique() == 6
    best_C = float(pd.read_csv(out / "totals.csv", index_col=0).iloc[:, 0]["best_global"])
    assert html.escape(f"the probe at C = {best_C:.3g} (the C study's best global C)") in page
    printed = capsys.readouterr().out
    assert "Augmentation study: best global strength = " in printed
    assert "What per-class augmentation could win at most" in printed


def test_augmentation_sweep_alone_on_an_image_folder(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("dark", "light", "mid"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(6):
            high = {"dark": 60, "light": 250, "mid": 150}[label]
            pixels = rng.integers(0, high, (20, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / label / f"{i}.png")
    out = tmp_path / "report"
    main(
        [
            "--data",
            str(tmp_path / "images"),
            "--sweep",
            "augmentation",
            "--strengths",
            "0:1:3",
            "--image-size",
            "32",
            "--cache",
            str(tmp_path / "cache"),
            "--out",
            str(out),
            *FAST,
        ]
    )
    totals = pd.read_csv(out / "totals.csv", index_col=0).iloc[:, 0]
    assert totals["param_name"] == "strength"  # the main study is the augmentation study
    assert "realised_gain_naive" in totals
    page = (out / "index.html").read_text()
    assert "<title>Class-wise augmentation study</title>" in page
    # 4 or 5 training images per class: too few for the LDA, said in place of the view
    assert "Upstream: the most ambiguous classes" in page
    assert "Not computed: " in page or (out / "upstream_separability.png").is_file()
    assert list((tmp_path / "cache").rglob("*.npy")), "the banks were not cached"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--data", "missing.npz"], "no such file"),
        (["--data", "{tmp}/bad.txt"], "use a .npz, .csv or .parquet"),
        (["--data", "{tmp}/keys.npz"], "needs arrays X and y"),
        (["--data", "{tmp}/few.npz"], "too few for --cv"),
        (["--Cs", "1:0:5"], "start:stop:count"),
        (["--Cs=-1,2"], "must be positive"),
        (["--test-size", "1.5"], "strictly between 0 and 1"),
        (["--cv", "0"], "positive integer"),
        (["--metric", "f1"], "invalid choice"),
        (["--tol", "0"], "must be a positive number"),
        (["--max-outer-iter", "-1"], "non-negative integer"),
        (["--label-smoothings", "0,1.5"], "lie in [0, 1)"),
        (["--label-smoothings", "a,b"], "start:stop:count"),
        (["--param", "tol"], "invalid choice"),
        (["--data", "{tmp}/four.npz", "--sweep", "augmentation"], "but --data holds features"),
        (["--strengths", "0,1.5"], "strengths lie in [0, 1]"),
        (["--strengths", "0.5,0.5"], "must not repeat"),
        (["--augment", "blur"], "comma list among crop, flip, noise"),
        (["--sweep", "augmentation", "--param", "label_smoothing"], "needs --param C"),
        (["--n-augment", "0"], "positive integer"),
        (
            ["--data", "{tmp}/few.npz", "--test-data", "{tmp}/few.npz", "--test-size", "0.2"],
            "not both",
        ),
        (
            ["--data", "{tmp}/four.npz", "--test-data", "{tmp}/wide.npz", "--cv", "2"],
            "--test-data has 3 features but --data has 2",
        ),
        (
            ["--data", "{tmp}/four.npz", "--test-data", "{tmp}/other.npz", "--cv", "2"],
            "--test-data has labels that --data lacks: 7",
        ),
        (
            ["--data", "{tmp}/four.npz", "--test-data", "{tmp}/missing.npz", "--cv", "2"],
            "--test-data {tmp}/missing.npz: no such file",
        ),
    ],
)
def test_bad_arguments_and_files_are_one_line_errors(arguments, message, tmp_path, capsys):
    (tmp_path / "bad.txt").write_text("x")
    np.savez(tmp_path / "keys.npz", A=np.zeros((4, 2)))
    np.savez(tmp_path / "few.npz", X=np.zeros((6, 2)), y=np.array([0, 0, 0, 1, 1, 1]))
    four = np.repeat([0, 1], 4)
    np.savez(tmp_path / "four.npz", X=np.arange(16.0).reshape(8, 2), y=four)
    np.savez(tmp_path / "wide.npz", X=np.zeros((8, 3)), y=four)
    np.savez(tmp_path / "other.npz", X=np.zeros((8, 2)), y=np.repeat([0, 7], 4))
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    message = message.replace("{tmp}", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--out", str(tmp_path / "out"), "--quiet"])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "sklearn_classreg", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Class-wise regularization study" in out.stdout and "--data" in out.stdout
