"""Per-class specifications: scalar, array or dict -> one value per class."""

import numpy as np
import pytest

from sklearn_classreg._objective._penalty import (
    binary_C,
    check_C,
    check_label_smoothing,
    per_class_vector,
)

CLASSES = np.array(["ant", "bee", "cat"])


@pytest.mark.parametrize(
    "value",
    [
        2.0,
        2,
        np.float32(2.0),
        [2.0, 2.0, 2.0],
        np.full(3, 2.0),
        {"cat": 2.0, "ant": 2, "bee": 2.0},
    ],
)
def test_every_form_gives_the_same_vector(value):
    vector = per_class_vector(value, CLASSES, name="C")
    assert vector.dtype == np.float64
    np.testing.assert_array_equal(vector, [2.0, 2.0, 2.0])


def test_dict_is_read_in_classes_order_whatever_its_order():
    vector = per_class_vector({"cat": 3.0, "ant": 1.0, "bee": 2.0}, CLASSES, name="C")
    np.testing.assert_array_equal(vector, [1.0, 2.0, 3.0])


def test_dict_keys_may_be_numpy_scalars_of_the_labels():
    classes = np.array([3, 7])
    vector = per_class_vector({np.int64(7): 1.0, 3: 2.0}, classes, name="C")
    np.testing.assert_array_equal(vector, [2.0, 1.0])


def test_dict_keys_for_labels_absent_from_y_are_ignored_as_in_class_weight():
    # A dict written for the whole dataset applies to a fold that lacks a class.
    vector = per_class_vector({"ant": 1.0, "bee": 2.0, "cat": 3.0, "dog": 4.0}, CLASSES, name="C")
    np.testing.assert_array_equal(vector, [1.0, 2.0, 3.0])
    vector = per_class_vector({0: 1.0, 1: 2.0, 2: 3.0}, np.array([0, 2]), name="C")
    np.testing.assert_array_equal(vector, [1.0, 3.0])


@pytest.mark.parametrize("classes, key", [(np.array([0, 1]), "0"), (np.array(["0", "1"]), 0)])
def test_dict_keys_of_another_type_than_the_labels_are_errors(classes, key):
    value = {label: 1.0 for label in classes.tolist()} | {key: 1.0}
    with pytest.raises(ValueError, match=r"C has keys that cannot be class labels: '?0'?\. "):
        per_class_vector(value, classes, name="C")


@pytest.mark.parametrize(
    "value, message",
    [
        ({"ant": 1.0, "bee": 1.0}, r"C has no value for the classes 'cat'"),
        ({"ant": 1.0, "bee": 1.0, "cat": 1.0, 0: 1.0}, r"keys that cannot be class labels: 0\."),
        ({"ant": 1.0, "bee": 1.0, "cat": 1.0, "dog": "x"}, r"C\['dog'\] must be a number"),
        ([1.0, 2.0], r"shape \(2,\) but there are 3 classes \('ant', 'bee', 'cat'\)"),
        ([[1.0, 2.0, 3.0]], r"shape \(1, 3\)"),
        ("strong", "C must be a number, an array"),
    ],
)
def test_malformed_specifications_are_clear_errors(value, message):
    with pytest.raises(ValueError, match=message):
        per_class_vector(value, CLASSES, name="C")


def test_C_accepts_infinity_and_rejects_non_positive_or_nan():
    np.testing.assert_array_equal(check_C([1.0, np.inf, 2.0], CLASSES), [1.0, np.inf, 2.0])
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match=r"C must be positive .* for the classes 'bee'"):
            check_C([1.0, bad, 2.0], CLASSES)


def test_label_smoothing_must_lie_in_zero_one():
    np.testing.assert_array_equal(check_label_smoothing(0.1, CLASSES), [0.1] * 3)
    for bad in (1.0, -0.5, np.nan, np.inf):
        with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
            check_label_smoothing({"ant": 0.0, "bee": 0.0, "cat": bad}, CLASSES)


def test_binary_C_is_the_mean_so_equal_values_are_unchanged():
    assert binary_C(np.array([0.5, 0.5])) == 0.5
    assert binary_C(np.array([1.0, 3.0])) == 2.0
    assert binary_C(np.array([1.0, np.inf])) == np.inf
