"""
A drop-in for scikit-learn: pipelines and grid search
=====================================================

:class:`~sklearn_classreg.ClassWiseRegularizedLogisticRegression` is a scikit-learn
classifier: it goes in a Pipeline, and ``GridSearchCV`` can search its ``C`` — a float, or one
value per class — with any scorer, including the worst-class ones of
:mod:`sklearn_classreg.metrics`.
"""

# %%
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_classreg import ClassWiseRegularizedLogisticRegression
from sklearn_classreg.metrics import worst_class_accuracy, worst_class_accuracy_scorer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
folds = StratifiedKFold(5, shuffle=True, random_state=0)

# %%
# The same search as with scikit-learn's LogisticRegression
# ---------------------------------------------------------
Cs = np.logspace(-3, 1, 9)
ours = GridSearchCV(
    make_pipeline(StandardScaler(), ClassWiseRegularizedLogisticRegression(max_iter=1000)),
    {"classwiseregularizedlogisticregression__C": Cs},
    cv=folds,
).fit(X_train, y_train)
theirs = GridSearchCV(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    {"logisticregression__C": Cs},
    cv=folds,
).fit(X_train, y_train)
print("best C, ours and scikit-learn's:", ours.best_params_, theirs.best_params_)
print(f"test accuracy: {ours.score(X_test, y_test):.3f} and {theirs.score(X_test, y_test):.3f}")

# %%
# Searching per-class values, for the worst class
# -----------------------------------------------
# A grid entry can be a dict {label: C}. Here classes 8 and 9, the two most confused with
# others, are given their own C while the rest keep the best global one, and the search
# maximises the worst-class accuracy (the smallest recall) rather than the accuracy.
best = ours.best_params_["classwiseregularizedlogisticregression__C"]
grid = [
    {label: (value if label in (8, 9) else best) for label in range(10)}
    for value in np.logspace(-3, 1, 5)
]
worst = GridSearchCV(
    make_pipeline(StandardScaler(), ClassWiseRegularizedLogisticRegression(max_iter=1000)),
    {"classwiseregularizedlogisticregression__C": grid},
    cv=folds,
    scoring=worst_class_accuracy_scorer,
).fit(X_train, y_train)
chosen = worst.best_params_["classwiseregularizedlogisticregression__C"]
print("C of classes 8 and 9:", chosen[8])
for name, search in (("global C", ours), ("per-class search", worst)):
    proba = search.predict_proba(X_test)
    print(
        f"{name}: test worst-class accuracy "
        f"{worst_class_accuracy(y_test, proba, labels=search.classes_):.3f}"
    )
