"""The ONNX graph of a fitted softmax (or, for two classes, sigmoid) linear model.

Written with the operators of the ONNX standard (MatMul, Add, Softmax or
Sigmoid, ArgMax) and ``ai.onnx.ml``'s ArrayFeatureExtractor for the labels, so
that the graph is exactly ``predict_proba``: skl2onnx's generic linear
classifier applies a softmax to [-z, z] for two classes, which differs from
the sigmoid of z.
"""

import numpy as np

from ..linear_model._logistic import dense_coef

__all__ = ["convert_linear_classifier", "shape_linear_classifier"]


def shape_linear_classifier(operator):
    """Output types: labels (int64 or string) and float probabilities."""
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    calculate_linear_classifier_output_shapes(operator)


def convert_linear_classifier(scope, operator, container):
    """Add the nodes computing labels and probabilities of `operator.raw_operator`."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import guess_proto_type

    model = operator.raw_operator
    coef = np.asarray(dense_coef(model))
    proto = guess_proto_type(operator.inputs[0].type)
    if proto not in (TensorProto.FLOAT, TensorProto.DOUBLE):
        proto = TensorProto.FLOAT
    dtype = np.float64 if proto == TensorProto.DOUBLE else np.float32

    def constant(name, values, onnx_type=proto):
        values = np.asarray(values)
        variable = scope.get_unique_variable_name(name)
        container.add_initializer(variable, onnx_type, list(values.shape), values.ravel().tolist())
        return variable

    def node(op_type, inputs, name, op_domain="", op_version=None, **attributes):
        output = scope.get_unique_variable_name(name)
        container.add_node(
            op_type,
            inputs,
            output,
            op_domain=op_domain,
            op_version=op_version,
            name=scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return output

    X = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) != proto:
        X = node("Cast", [X], "cast_input", to=proto)
    weights = constant("coef", coef.T.astype(dtype))
    intercept = constant("intercept", np.asarray(model.intercept_, dtype=dtype))
    scores = node("Add", [node("MatMul", [X, weights], "products"), intercept], "scores")
    probabilities = operator.outputs[1].full_name
    if coef.shape[0] == 1:  # two classes: [1 - sigmoid(z), sigmoid(z)]
        positive = node("Sigmoid", [scores], "positive")
        one = constant("one", np.ones(1, dtype=dtype))
        negative = node("Sub", [one, positive], "negative")
        container.add_node(
            "Concat",
            [negative, positive],
            probabilities,
            name=scope.get_unique_operator_name("Concat"),
            axis=1,
        )
    else:
        container.add_node(
            "Softmax",
            [scores],
            probabilities,
            name=scope.get_unique_operator_name("Softmax"),
            axis=1,
        )
    index = node("ArgMax", [probabilities], "index", axis=1, keepdims=0)
    classes = model.classes_
    if container.get_options(model, dict(nocl=False))["nocl"]:  # class indices as labels
        labels = constant("classes", np.arange(len(classes), dtype=np.int64), TensorProto.INT64)
    elif classes.dtype.kind in "US" or classes.dtype.kind == "O":
        labels = constant("classes", np.array([str(c) for c in classes]), TensorProto.STRING)
    else:
        labels = constant("classes", classes.astype(np.int64), TensorProto.INT64)
    picked = node("ArrayFeatureExtractor", [labels, index], "picked", op_domain="ai.onnx.ml")
    flat = constant("flat", np.array([-1], dtype=np.int64), TensorProto.INT64)
    container.add_node(
        "Reshape",
        [picked, flat],
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name("Reshape"),
    )
