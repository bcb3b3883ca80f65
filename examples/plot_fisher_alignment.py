"""
Label smoothing, the logit penalty and Fisher's discriminant
============================================================

Beck, Bar Sinai & Levi (2026) show that a convex penalty in logit space — label smoothing is
one — makes the logits cluster around finite targets, and that for Gaussian classes the
weight vector then aligns with Fisher's linear discriminant. Without it, on separable data,
logistic regression follows the max-margin direction instead.

Two Gaussian classes with a shared covariance, few samples for their dimension (separable):
:func:`~sklearn_classreg.feature_extraction.weight_lda_angle` measures the angle between the
fitted direction and Fisher's (from the same samples), without penalty on the weights, as the
label smoothing or the logit penalty grows.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.feature_extraction import weight_lda_angle

rng = np.random.default_rng(0)
n_per_class, n_features = 40, 30  # 80 samples in 30 dimensions: separable
covariance_factor = rng.standard_normal((n_features, n_features)) / np.sqrt(n_features)
covariance_factor += np.eye(n_features)
shift = rng.standard_normal(n_features) * 0.5
X = np.vstack(
    [
        rng.standard_normal((n_per_class, n_features)) @ covariance_factor.T + mean
        for mean in (np.zeros(n_features), shift)
    ]
)
y = np.repeat([0, 1], n_per_class)


def angle(**params):
    model = ClassWiseRegularizedLogisticRegression(C=np.inf, max_iter=2000, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # C = inf on separable data
        model.fit(X, y)
    return weight_lda_angle(model, X, y, (0, 1))


strengths = [0.0, 0.01, 0.03, 0.1, 0.3, 0.6]
smoothing = [angle(label_smoothing=s) for s in strengths]
penalty = [angle(logit_penalty=s) for s in strengths]
print("angle to Fisher's direction (degrees)")
for s, a, b in zip(strengths, smoothing, penalty, strict=True):
    print(f"  strength {s:<5}: label smoothing {a:5.1f}, logit penalty {b:5.1f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
positions = np.arange(len(strengths))
ax.plot(positions, smoothing, "o-", label="label smoothing")
ax.plot(positions, penalty, "s-", label="logit penalty")
ax.set_xticks(positions)
ax.set_xticklabels([str(s) for s in strengths])
ax.set(
    xlabel="strength (no L2 penalty on the weights)",
    ylabel="angle to Fisher (degrees)",
    title="Logit regularization aligns the weights with Fisher's discriminant",
)
ax.legend()
plt.show()
