"""
Sweeping the augmentation strength, class by class
==================================================

Does data augmentation before a frozen network help every class of a linear probe, or help
some and hurt others? :class:`~sklearn_classreg.model_selection.AugmentationStudy` sweeps the
strength of random crops, flips and noise applied to Omniglot characters before a frozen
EfficientNet-Lite0. Each image goes through the network once per strength and view (feature
banks, cached on disk); the folds train the probe on the augmented views and score it on clean
images. The study gives the best global strength, each class's own best, what the global
choice costs each class, and what class-conditional augmentation (each class at its own best)
does on held-out images. Its upstream view then follows the most ambiguous characters in the
network's feature space along the strength.
"""

# %%
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.datasets import get_data_home, load_omniglot_sample
from sklearn_classreg.feature_extraction import FrozenFeatureExtractor
from sklearn_classreg.model_selection import AugmentationStudy
from sklearn_classreg.plotting import ClassWiseHeatmapDisplay, UpstreamViewDisplay

images, labels = load_omniglot_sample()
keep = np.isin(labels, np.unique(labels)[:30])  # 30 characters, 20 drawings each
images, labels = images[keep], labels[keep]
train_images, test_images, train_labels, test_labels = train_test_split(
    images, labels, test_size=0.25, stratify=labels, random_state=0
)
extractor = FrozenFeatureExtractor(
    "efficientnet-lite0",
    input_size=64,
    augment="all",
    memory=str(get_data_home() / "feature_cache"),
    random_state=0,
)
probe = make_pipeline(StandardScaler(), ClassWiseRegularizedLogisticRegression(C=1.0))
study = AugmentationStudy(
    extractor,
    probe,
    param_range=[0.0, 0.25, 0.5, 1.0],
    n_augment=2,
    cv=3,
    n_bootstrap=500,
    random_state=0,
).fit(train_images, train_labels, X_test=test_images, y_test=test_labels)
print(f"best global strength: {study.best_global_}")
print(study.best_per_class_.value_counts().sort_index().rename("classes").to_string())
for heading, sentence in study.verdict():
    print(f"{heading}: {sentence}")

# %%
# Each class along the strength
# -----------------------------
# Blue: better for the class than the global choice; red: worse.
ClassWiseHeatmapDisplay.from_results(study)

# %%
# The most ambiguous characters in the network's features
# --------------------------------------------------------
# Fisher separability (cross-fitted) of each pair of the characters the least augmented probe
# confuses most, and their cross-validated recall, along the strength.
view = study.upstream_view(n_classes=4)
print(view.summary)
UpstreamViewDisplay.from_view(view)
UpstreamViewDisplay.from_view(view, kind="projections")
