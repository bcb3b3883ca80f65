"""
The class-wise study on frozen features
=======================================

How much does the best L2 strength differ from class to class, and what does one global
choice cost each class? Omniglot characters (bundled with the package) go through a frozen,
ImageNet-pretrained EfficientNet-Lite0; a logistic-regression probe is swept over C with
cross-validation, and :class:`~sklearn_classreg.model_selection.ClassWiseStudy` reports the
oracle gap, its honest (cross-fitted) estimate and the gain realised on held-out data.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.datasets import get_data_home, load_omniglot_sample
from sklearn_classreg.feature_extraction import FrozenFeatureExtractor
from sklearn_classreg.model_selection import ClassWiseStudy
from sklearn_classreg.plotting import (
    ClassWiseHeatmapDisplay,
    GlobalChoiceLossDisplay,
    OptimumHistogramDisplay,
)

FAST = os.environ.get("SKLEARN_CLASSREG_FAST", "0") != "0"  # the docs build runs it small

images, labels = load_omniglot_sample()
if FAST:
    keep = np.isin(labels, np.unique(labels)[:60])
    images, labels = images[keep], labels[keep]
features = FrozenFeatureExtractor(
    "efficientnet-lite0", input_size=64, memory=str(get_data_home() / "feature_cache")
).fit_transform(images)
print(f"{len(labels)} images of {len(set(labels))} characters -> features {features.shape}")

# %%
# Sweep C, choose per class, measure the gap
# ------------------------------------------
# The per-class metric is the deviance (mean negative log-likelihood of the class's images):
# unlike recall, it does not reward a class for being predicted for everything.
X_train, X_test, y_train, y_test = train_test_split(
    features, labels, test_size=0.25, stratify=labels, random_state=0
)
study = ClassWiseStudy(
    make_pipeline(StandardScaler(), ClassWiseRegularizedLogisticRegression(max_iter=500)),
    param_name="classwiseregularizedlogisticregression__C",
    param_range=np.logspace(-4, 2, 10 if FAST else 20),
    cv=5,
    metric="deviance",
    n_bootstrap=300 if FAST else 1000,
    random_state=0,
).fit(X_train, y_train, X_test=X_test, y_test=y_test)
print(
    study.totals_[
        [
            "best_global",
            "oracle_gap",
            "honest_gain",
            "honest_gain_low",
            "honest_gain_high",
            "n_significant",
            "iqr_log10_optimum",
            "realised_gain",
            "realised_gain_low",
            "realised_gain_high",
        ]
    ]
)

# %%
# Each class along C
# ------------------
ClassWiseHeatmapDisplay.from_results(study)
plt.show()

# %%
# Where the optima lie, and what the global choice costs
# -------------------------------------------------------
# The oracle loss is an optimistic bound (choices scored on the folds that made them); the
# honest gain makes the choices on one half of the folds and scores them on the other; the
# realised gain refits the model with each class's C and scores it on held-out images. The
# classes are coupled through the softmax, so the oracle does not transfer as such.
fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
OptimumHistogramDisplay.from_results(study, ax=axes[0])
GlobalChoiceLossDisplay.from_results(study, kind="oracle", ax=axes[1])
GlobalChoiceLossDisplay.from_results(study, kind="realised", ax=axes[2])
fig.tight_layout()
plt.show()
