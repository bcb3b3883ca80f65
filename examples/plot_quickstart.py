"""
Quick start: one L2 strength per class
======================================

:class:`~sklearn_classreg.ClassWiseRegularizedLogisticRegression` is
multinomial logistic regression with one inverse regularization strength
``C_k`` per class. With the same C for every class it is scikit-learn's
:class:`~sklearn.linear_model.LogisticRegression`; with different values, each
class's weight vector is shrunk by its own amount.
"""

# %%
# Same C for every class: scikit-learn's model
# --------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import train_test_split

from sklearn_classreg import ClassWiseRegularizedLogisticRegression

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)

ours = ClassWiseRegularizedLogisticRegression(C=1.0, tol=1e-8, max_iter=1000)
ours.fit(X_train, y_train)
theirs = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10).fit(X_train, y_train)
print(f"largest coefficient difference: {np.abs(ours.coef_ - theirs.coef_).max():.1e}")
print(f"test accuracy: {ours.score(X_test, y_test):.3f}")

# %%
# One class regularized 100 times more
# ------------------------------------
# ``C`` takes a float, an array in ``classes_`` order or a dict {label: C}.
C = {label: 1.0 for label in range(10)}
C[8] = 0.01
shrunk = ClassWiseRegularizedLogisticRegression(C=C, tol=1e-8, max_iter=1000)
shrunk.fit(X_train, y_train)
print("C_ used per class:", shrunk.C_)

norms = np.linalg.norm(ours.coef_, axis=1), np.linalg.norm(shrunk.coef_, axis=1)
recalls = [recall_score(y_test, model.predict(X_test), average=None) for model in (ours, shrunk)]

fig, (ax_norm, ax_recall) = plt.subplots(1, 2, figsize=(9, 3.5))
width = 0.4
classes = np.arange(10)
for offset, label, norm, recall in zip(
    (-width / 2, width / 2), ("C = 1 for all", "C_8 = 0.01"), norms, recalls, strict=True
):
    ax_norm.bar(classes + offset, norm, width, label=label)
    ax_recall.bar(classes + offset, recall, width, label=label)
ax_norm.set(xlabel="class", ylabel="||w_k||", title="weight norm per class", xticks=classes)
ax_recall.set(xlabel="class", ylabel="recall", title="test recall per class", xticks=classes)
ax_recall.set_ylim(0.8, 1.01)
ax_norm.legend()
fig.tight_layout()
plt.show()
