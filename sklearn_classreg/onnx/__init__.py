"""ONNX export of the library's classifiers (needs the ``onnx`` extra).

`register_onnx_converters` makes skl2onnx's own ``convert_sklearn`` and
``to_onnx`` know `ClassWiseRegularizedLogisticRegression` and
`ClassWiseRegularizationCV`, alone or as a step of a Pipeline;
`to_onnx` registers them and converts.
"""

__all__ = ["register_onnx_converters", "to_onnx"]

_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [False, True]}


def register_onnx_converters():
    """Register the library's classifiers with skl2onnx (idempotent).

    After it, ``skl2onnx.convert_sklearn`` and ``skl2onnx.to_onnx`` convert
    them, alone or inside a Pipeline. The graph computes ``predict_proba``
    (softmax; sigmoid for two classes) and ``predict``, for float32 or
    float64 input and integer or string labels.

    Raises
    ------
    ImportError
        When skl2onnx is not installed (``pip install sklearn-classreg[onnx]``).
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError(
            "ONNX export needs skl2onnx (and onnxruntime to run the graph): "
            "pip install 'sklearn-classreg[onnx]'."
        ) from error
    from ..linear_model import ClassWiseRegularizationCV, ClassWiseRegularizedLogisticRegression
    from ._converter import convert_linear_classifier, shape_linear_classifier

    for model in (ClassWiseRegularizedLogisticRegression, ClassWiseRegularizationCV):
        update_registered_converter(
            model,
            f"SklearnClassreg{model.__name__}",
            shape_linear_classifier,
            convert_linear_classifier,
            options=_OPTIONS,
        )


def to_onnx(model, X=None, **kwargs):
    """Convert a fitted model (or a Pipeline ending with one) to ONNX.

    Registers the converters, then calls ``skl2onnx.to_onnx(model, X,
    **kwargs)``; give `X` (a few rows of the input, in the dtype to serve:
    float32 or float64) or ``initial_types``.

    Parameters
    ----------
    model : fitted estimator or Pipeline
    X : array-like, default=None
        Sample input, from which skl2onnx infers the input's type and width.
    **kwargs
        Passed to ``skl2onnx.to_onnx`` (e.g. ``options={id(model):
        {"zipmap": False}}`` for one probability matrix instead of a list of
        dicts, ``target_opset``).

    Returns
    -------
    onnx.ModelProto

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_classreg import ClassWiseRegularizedLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> model = ClassWiseRegularizedLogisticRegression(C={0: 0.1, 1: 1.0, 2: 10.0}).fit(X, y)
    >>> onx = to_onnx(model, X[:1], options={"zipmap": False})
    >>> session = ort.InferenceSession(onx.SerializeToString())
    >>> labels, proba = session.run(None, {"X": X})
    >>> bool(np.abs(proba - model.predict_proba(X)).max() < 1e-5)
    True
    """
    register_onnx_converters()
    from skl2onnx import to_onnx as skl2onnx_to_onnx

    return skl2onnx_to_onnx(model, X, **kwargs)
