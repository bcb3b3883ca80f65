"""The study's answer in plain words: what per-class choices can win, do win, and chance."""

import math

from ..metrics._names import CLASS_METRIC_INFO

__all__ = ["verdict"]


def _finite(totals, key):
    value = totals.get(key)
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _signed(value):
    return f"{float(value):+.4f}"


def _interval(totals, key):
    return f"[{float(totals[f'{key}_low']):+.4f}, {float(totals[f'{key}_high']):+.4f}]"


def _reading(totals, key):
    """Significantly positive, negative, or not distinguishable from zero."""
    low, high = float(totals[f"{key}_low"]), float(totals[f"{key}_high"])
    if low > 0:
        return "a real gain"
    if high < 0:
        return "a real loss"
    return "not distinguishable from zero"


def _unconverged(totals):
    """A warning sentence when the coupled oracle's descent stopped short."""
    if totals.get("coupled_oracle_converged", True):
        return ""
    return (
        " Its descent stopped before it converged (stationarity "
        f"{float(totals['coupled_oracle_stationarity']):.2g} after "
        f"{totals['coupled_oracle_outer_iter']} steps), so the bound may be higher."
    )


def verdict(totals, *, metric, param_label, alpha, subject="regularization"):
    """Three sentences (or fewer, where a part was not computed) for the report's opening.

    Parameters
    ----------
    totals : mapping
        `ClassWiseStudy.totals_`.
    metric : str
    param_label : str
        How the swept parameter is named to a reader ("C").
    alpha : float
        1 - the confidence level, for the chance-level reading.
    subject : {"regularization", "augmentation"}, default="regularization"
        What the swept value controls: the headings and the realised gain's
        sentence (class-conditional augmentation) say so.

    Returns
    -------
    list of (str, str)
        (heading, sentence) pairs: "at most", "on held-out data", "chance".
    """
    units = CLASS_METRIC_INFO[metric].description if metric in CLASS_METRIC_INFO else metric
    lines = []
    if _finite(totals, "coupled_oracle_gap") and float(totals["coupled_oracle_gap_high"]) < 0:
        lines.append(
            (
                f"What per-class {subject} could win at most",
                "not measured: the per-class values the hypergradient tuned on the held-out "
                f"folds, refitted there, lose {_signed(totals['coupled_oracle_gap'])} {units} "
                f"{_interval(totals, 'coupled_oracle_gap')} against the best global "
                f"{param_label}, so the descent found no better vector and the coupled "
                "oracle is no bound here. The uncoupled oracle gap, each class at its own "
                f"best of the shared sweep, is {float(totals['oracle_gap']):.4f}; no single "
                "model need reach it.",
            )
        )
    elif _finite(totals, "coupled_oracle_gap"):
        lines.append(
            (
                f"What per-class {subject} could win at most",
                f"{_signed(totals['coupled_oracle_gap'])} {units} "
                f"{_interval(totals, 'coupled_oracle_gap')} over the best global "
                f"{param_label}: the coupled oracle, per-class {param_label} tuned on the "
                "held-out folds themselves, every class's value acting on every class "
                "through the softmax. The uncoupled oracle gap, each class at its own best "
                f"of a sweep in which all classes shared {param_label}, is "
                f"{float(totals['oracle_gap']):.4f}; no single model need reach it."
                + _unconverged(totals),
            )
        )
    else:
        lines.append(
            (
                f"What per-class {subject} could win at most",
                f"the uncoupled oracle gap is {float(totals['oracle_gap']):.4f} {units}: each "
                "class at its own best of the shared sweep, scored on the folds that chose "
                "it. It is an optimistic figure that no single model need reach"
                + (
                    " (the coupled oracle tunes per-class values by hypergradient: the "
                    "augmentation strength is not one the probe's loss can be differentiated in)."
                    if subject == "augmentation"
                    else " (the coupled oracle tunes the C of this library's estimator)."
                ),
            )
        )
    if subject == "augmentation" and _finite(totals, "realised_gain_naive"):
        lines.append(
            (
                "What choosing per class wins on held-out data",
                "class-conditional augmentation, each class's training images at the class's "
                f"own best {param_label} of the sweep "
                f"({totals.get('n_classes_moved_naive')} classes off the global one), refitted "
                f"on all training images, gives {_signed(totals['realised_gain_naive'])} "
                f"{_interval(totals, 'realised_gain_naive')} {units} against the best global "
                f"{param_label} refitted, on the clean held-out images: "
                f"{_reading(totals, 'realised_gain_naive')}.",
            )
        )
        return lines + _chance_lines(totals, param_label, alpha)
    parts = []
    if _finite(totals, "realised_gain_per_class"):
        if totals.get("n_classes_moved_per_class") == 0:
            parts.append(
                "choosing per class with cross-fitted evidence ('per_class') moves no class "
                "off the global value (no class's gain had an interval above zero), so it "
                "realises exactly 0"
            )
        else:
            parts.append(
                "choosing per class with cross-fitted evidence ('per_class', "
                f"{totals.get('n_classes_moved_per_class')} classes moved) wins "
                f"{_signed(totals['realised_gain_per_class'])} "
                f"{_interval(totals, 'realised_gain_per_class')}, "
                f"{_reading(totals, 'realised_gain_per_class')}"
            )
    if _finite(totals, "realised_gain_hypergradient"):
        parts.append(
            "per-class values tuned by hypergradient win "
            f"{_signed(totals['realised_gain_hypergradient'])} "
            f"{_interval(totals, 'realised_gain_hypergradient')}, "
            f"{_reading(totals, 'realised_gain_hypergradient')}"
        )
    if parts or _finite(totals, "realised_gain_naive"):
        sentence = (
            "; ".join(parts) + f" ({units}, against the global {param_label} refitted)."
            if parts
            else "no tuned choice was refitted (the study's tuned is empty)."
            if param_label == "C"
            else f"the tuned strategies choose C, so for {param_label} only the naive "
            "transfer is refitted."
        )
        if _finite(totals, "realised_gain_naive"):
            sentence += (
                " The naive transfer of each class's own optimum gives "
                f"{_signed(totals['realised_gain_naive'])} "
                f"{_interval(totals, 'realised_gain_naive')}: what the coupling does to "
                "optima measured one class at a time, not an achievable gain."
            )
        lines.append(("What choosing per class wins on held-out data", sentence))
    elif _finite(totals, "honest_gain"):
        lines.append(
            (
                "What choosing per class wins on held-out data",
                f"cross-fitted (choices on half of the folds, scored on the other): "
                f"{_signed(totals['honest_gain'])} {_interval(totals, 'honest_gain')} "
                f"{units}, {_reading(totals, 'honest_gain')}. No test data was given for a "
                "refitted comparison.",
            )
        )
    return lines + _chance_lines(totals, param_label, alpha)


def _listed(names):
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _chance_lines(totals, param_label, alpha):
    """The chance-level sentence, when it was computed."""
    lines = []
    if _finite(totals, "spread_p_value"):
        tests = {
            "the spread": float(totals["spread_p_value"]),
            "the oracle gap": float(totals["oracle_gap_p_value"]),
        }
        if _finite(totals, "split_half_p_value"):
            tests["the halves' agreement"] = float(totals["split_half_p_value"])
        beyond = [name for name, p in tests.items() if p < alpha]
        within = [name for name in tests if name not in beyond]
        log_scale = totals.get("spread_scale", "log10") == "log10"
        spread = f"{float(totals['chance_spread']):.2f}" + (" decades" if log_scale else "")
        sentence = (
            f"the per-class optima spread over {spread} (IQR of "
            f"{'log10 ' if log_scale else ''}{param_label}); one shared optimum with this "
            "much data gives "
            f"{float(totals['spread_null_median']):.2f} (95 % of replicates up to "
            f"{float(totals['spread_null_high']):.2f}), p = "
            f"{float(totals['spread_p_value']):.3g}. The oracle gap is "
            f"{float(totals['chance_oracle_gap']):.4f} against "
            f"{float(totals['oracle_gap_null_median']):.4f} by chance, p = "
            f"{float(totals['oracle_gap_p_value']):.3g}."
        )
        if _finite(totals, "split_half_spearman"):
            sentence += (
                " The optima chosen on the two halves of the folds agree with Spearman "
                f"rho = {float(totals['split_half_spearman']):.2f} "
                f"(p = {float(totals['split_half_p_value']):.3g})."
            )
        if {"the spread", "the oracle gap"} <= set(beyond):
            sentence += " The classes' optima differ beyond chance."
        elif not beyond:
            sentence += " The spread is within what chance produces."
        else:  # e.g. a few classes that differ, too few to widen the spread of all
            sentence += (
                f" Mixed evidence: {_listed(beyond)} beyond chance, {_listed(within)} within "
                "it; some classes' optima may differ, not enough for both the spread and the "
                "oracle gap to show it."
            )
        lines.append(("How far the spread of optima is from chance", sentence))
    return lines
