"""
The class-wise study on frozen features
=======================================

How much does the best L2 strength differ from class to class, and what does one global
choice cost each class? Omniglot characters (bundled with the package) go through a frozen,
ImageNet-pretrained EfficientNet-Lite0; a logistic-regression probe is swept over C with
cross-validation, and :class:`~sklearn_classreg.model_selection.ClassWiseStudy` reports the
oracle gap, its honest (cross-fitted) estimate, the coupled oracle, the gains realised on
held-out data by per-class choices, and how far the spread of the optima is from chance.
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
    ChanceLevelDisplay,
    ClassWiseHeatmapDisplay,
    GlobalChoiceLossDisplay,
    OptimumHistogramDisplay,
    RealisedGainDisplay,
)

FAST = os.environ.get("SKLEARN_CLASSREG_FAST", "0") != "0"  # the docs build runs it small

images, labels = load_omniglot_sample()
if FAST:
    keep = np.isin(labels, np.unique(labels)[:30])
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
    param_range=np.logspace(-4, 1, 6) if FAST else np.logspace(-4, 2, 20),
    cv=3 if FAST else 5,
    metric="deviance",
    n_bootstrap=200 if FAST else 1000,
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
            "coupled_oracle_gap",
            "realised_gain_per_class",
            "realised_gain_hypergradient",
            "realised_gain_naive",
        ]
    ]
)

# %%
# The verdict
# -----------
# What per-class values could win at most (the coupled oracle), what choosing per class wins
# on held-out data, and whether the classes' optima differ more than chance would make them.
for heading, sentence in study.verdict():
    print(f"{heading}:\n  {sentence}\n")

# %%
# Each class along C
# ------------------
ClassWiseHeatmapDisplay.from_results(study)
plt.show()

# %%
# Where the optima lie, and what the global choice costs
# -------------------------------------------------------
# The oracle loss is optimistic (choices scored on the folds that made them), and it is not
# reachable: the classes are coupled through the softmax, so each class's own optimum does
# not transfer to a model where every class has its own C. The naive transfer (right) refits
# those optima together and scores them on held-out images.
fig, axes = plt.subplots(1, 3, figsize=(15, 3.5))
OptimumHistogramDisplay.from_results(study, ax=axes[0])
GlobalChoiceLossDisplay.from_results(study, kind="oracle", ax=axes[1])
GlobalChoiceLossDisplay.from_results(study, kind="realised_naive", ax=axes[2])
fig.tight_layout()
plt.show()

# %%
# What per-class choices made with the coupling in view realise
# --------------------------------------------------------------
# The hypergradient tunes all classes' C together on the folds' held-out deviance; refitted on
# all the training images, it is scored on the held-out ones. Each point is a class.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
GlobalChoiceLossDisplay.from_results(study, kind="realised_hypergradient", ax=axes[0])
RealisedGainDisplay.from_results(study, choice="hypergradient", ax=axes[1])
fig.tight_layout()
plt.show()

# %%
# Is the spread of optima more than chance?
# -----------------------------------------
# With about 15 images per class, noise alone spreads the per-class optima. The histograms
# show what one shared optimum gives with this much data; the red lines are the observed
# values.
ChanceLevelDisplay.from_results(study)
plt.show()
