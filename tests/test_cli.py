"""The main job: python -m sklearn_classreg, on files and image folders; clear errors."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

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
    ],
)
def test_bad_arguments_and_files_are_one_line_errors(arguments, message, tmp_path, capsys):
    (tmp_path / "bad.txt").write_text("x")
    np.savez(tmp_path / "keys.npz", A=np.zeros((4, 2)))
    np.savez(tmp_path / "few.npz", X=np.zeros((6, 2)), y=np.array([0, 0, 0, 1, 1, 1]))
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
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
