"""Names of estimator parameters as people read them."""

__all__ = ["parameter_label"]


def parameter_label(param_name):
    """A parameter's short name: "C" for "pipeline_step__C".

    Examples
    --------
    >>> parameter_label("logisticregression__C")
    'C'
    """
    return param_name.rsplit("__", 1)[-1]
