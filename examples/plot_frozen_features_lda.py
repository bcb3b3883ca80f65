"""
Frozen features and the most ambiguous characters under LDA
===========================================================

Omniglot characters go through a frozen EfficientNet-Lite0
(:class:`~sklearn_classreg.feature_extraction.FrozenFeatureExtractor`); a probe is fitted on
the features. :class:`~sklearn_classreg.feature_extraction.AmbiguousClassLDA` finds the
characters most confused with one another and projects them with linear discriminant
analysis — here on features of the clean images, then of augmented ones (random crops, flips
and noise), to see how augmentation moves the ambiguous classes in the representation.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.datasets import get_data_home, load_omniglot_sample
from sklearn_classreg.feature_extraction import AmbiguousClassLDA, FrozenFeatureExtractor
from sklearn_classreg.plotting import AmbiguousClassLDADisplay

FAST = os.environ.get("SKLEARN_CLASSREG_FAST", "0") != "0"
images, labels = load_omniglot_sample()
if FAST:
    keep = np.isin(labels, np.unique(labels)[:40])
    images, labels = images[keep], labels[keep]
cache = str(get_data_home() / "feature_cache")
clean = FrozenFeatureExtractor("efficientnet-lite0", input_size=64, memory=cache)
features = clean.fit_transform(images)

probe = make_pipeline(
    StandardScaler(), ClassWiseRegularizedLogisticRegression(C=0.5, max_iter=500)
)
accuracy = cross_val_score(probe, features, labels, cv=4).mean()
print(f"{len(set(labels))} characters, probe accuracy on frozen features: {accuracy:.3f}")

# %%
# The most ambiguous characters
# -----------------------------
lda = AmbiguousClassLDA(n_classes=4, classifier=probe, cv=4).fit(features, labels)
print("most confused:", lda.ambiguous_classes_.tolist())
print(lda.fisher_separability_.round(2))

# %%
# Before and after augmentation
# -----------------------------
# The same characters, their images augmented (strength 0.6) before the frozen network: the
# LDA is refitted on the augmented features of these classes.
augmented = FrozenFeatureExtractor(
    "efficientnet-lite0", input_size=64, augment="all", strength=0.6, random_state=0, memory=cache
)
augmented_features = augmented.fit_transform(images, labels)
lda_augmented = AmbiguousClassLDA(classes=lda.ambiguous_classes_).fit(augmented_features, labels)
merged = lda.fisher_separability_.merge(
    lda_augmented.fisher_separability_,
    on=["class_a", "class_b"],
    suffixes=("_clean", "_augmented"),
)
print(merged.round(2))

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
AmbiguousClassLDADisplay.from_estimator(lda, features, labels, ax=axes[0], title="clean images")
AmbiguousClassLDADisplay.from_estimator(
    lda_augmented, augmented_features, labels, ax=axes[1], title="augmented images (strength 0.6)"
)
fig.tight_layout()
plt.show()
