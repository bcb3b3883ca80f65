"""
The torch backend on a GPU
==========================

The same model, objective and solvers on torch tensors: ``backend="torch"`` with
``device="cuda"``. X moves to the GPU once (or is streamed in row chunks from host memory when
it does not fit); the fitted attributes are NumPy arrays, so the model pickles and predicts on
a machine without a GPU. This example is not run when the documentation is built.
"""

import numpy as np
import torch

from sklearn_classreg import ClassWiseRegularizedLogisticRegression, regularization_path
from sklearn_classreg.datasets import make_frozen_features

X, y = make_frozen_features(200_000, 1024, 1000, random_state=0)

# NumPy input: moved to the GPU once
model = ClassWiseRegularizedLogisticRegression(
    C=1.0, tol=1e-6, max_iter=1000, backend="torch", device="cuda"
).fit(X, y)
print(type(model.coef_), model.coef_.dtype)  # numpy.ndarray float32

# Tensors already on the GPU are used where they are
X_gpu, y_gpu = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
model.fit(X_gpu, y_gpu)

# A warm-started path of C on the GPU
path = regularization_path(
    X_gpu, y_gpu, np.logspace(-3, 1, 10), backend="torch", device="cuda", tol=1e-6
)
print(path.objective)

# Data larger than the GPU: rows are streamed from host memory (pinned), automatically when X
# would take more than half the free memory, or in chunks of batch_size rows
model = ClassWiseRegularizedLogisticRegression(
    backend="torch", device="cuda", batch_size=100_000
).fit(X, y)
