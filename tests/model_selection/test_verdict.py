"""The verdict says what the numbers say, and only what was computed."""

import numpy as np

from sklearn_classreg.model_selection._verdict import verdict


def _totals(**changes):
    totals = {
        "oracle_gap": 0.067,
        "honest_gain": -0.002,
        "honest_gain_low": -0.009,
        "honest_gain_high": 0.005,
        "coupled_oracle_gap": 0.012,
        "coupled_oracle_gap_low": 0.004,
        "coupled_oracle_gap_high": 0.02,
        "realised_gain_per_class": 0.0,
        "realised_gain_per_class_low": 0.0,
        "realised_gain_per_class_high": 0.0,
        "n_classes_moved_per_class": 0,
        "realised_gain_hypergradient": 0.006,
        "realised_gain_hypergradient_low": 0.001,
        "realised_gain_hypergradient_high": 0.011,
        "realised_gain_naive": -0.055,
        "realised_gain_naive_low": -0.075,
        "realised_gain_naive_high": -0.036,
        "chance_spread": 1.89,
        "spread_null_median": 1.5,
        "spread_null_high": 2.1,
        "spread_p_value": 0.21,
        "chance_oracle_gap": 0.067,
        "oracle_gap_null_median": 0.06,
        "oracle_gap_null_high": 0.075,
        "oracle_gap_p_value": 0.12,
        "split_half_spearman": 0.05,
        "split_half_p_value": 0.3,
    }
    totals.update(changes)
    return totals


def test_the_three_answers_with_their_numbers():
    lines = dict(verdict(_totals(), metric="recall", param_label="C", alpha=0.05))
    at_most = lines["What per-class regularization could win at most"]
    assert "+0.0120 mean per-class recall [+0.0040, +0.0200]" in at_most
    assert "0.0670" in at_most  # the uncoupled oracle gap beside it
    held_out = lines["What choosing per class wins on held-out data"]
    assert "moves no class" in held_out and "realises exactly 0" in held_out
    assert "+0.0060 [+0.0010, +0.0110], a real gain" in held_out
    assert "-0.0550 [-0.0750, -0.0360]" in held_out and "naive transfer" in held_out
    chance = lines["How far the spread of optima is from chance"]
    assert "1.89 decades" in chance and "p = 0.21" in chance
    assert "within what chance produces" in chance


def test_readings_follow_the_intervals():
    lines = dict(
        verdict(
            _totals(
                n_classes_moved_per_class=7,
                realised_gain_per_class=-0.01,
                realised_gain_per_class_low=-0.02,
                realised_gain_per_class_high=-0.001,
                realised_gain_hypergradient_low=-0.001,
                spread_p_value=0.001,
                oracle_gap_p_value=0.002,
            ),
            metric="deviance",
            param_label="C",
            alpha=0.05,
        )
    )
    held_out = lines["What choosing per class wins on held-out data"]
    assert "7 classes moved" in held_out and "a real loss" in held_out
    assert "not distinguishable from zero" in held_out
    assert "nats" in held_out
    assert "differ beyond chance" in lines["How far the spread of optima is from chance"]


def test_only_what_was_computed():
    bare = {key: value for key, value in _totals().items() if key.startswith(("oracle", "honest"))}
    lines = verdict(bare, metric="recall", param_label="strength", alpha=0.05)
    assert len(lines) == 2
    assert "uncoupled oracle gap is 0.0670" in lines[0][1]
    assert "No test data was given" in lines[1][1]
    # a NaN is not a number to report
    lines = dict(
        verdict(_totals(coupled_oracle_gap=np.nan), metric="recall", param_label="C", alpha=0.05)
    )
    assert "uncoupled oracle gap is" in lines["What per-class regularization could win at most"]


def test_a_coupled_oracle_that_loses_is_not_called_a_bound():
    totals = _totals(
        coupled_oracle_gap=-0.75, coupled_oracle_gap_low=-0.9, coupled_oracle_gap_high=-0.6
    )
    (heading, sentence), *_ = verdict(totals, metric="deviance", param_label="C", alpha=0.05)
    assert sentence.startswith("not measured") and "-0.7500" in sentence
    assert "no bound here" in sentence


def test_an_unconverged_coupled_oracle_may_be_higher():
    converged = dict(
        verdict(
            _totals(coupled_oracle_converged=True), metric="recall", param_label="C", alpha=0.05
        )
    )
    short = dict(
        verdict(
            _totals(
                coupled_oracle_converged=False,
                coupled_oracle_stationarity=0.0123,
                coupled_oracle_outer_iter=30,
            ),
            metric="recall",
            param_label="C",
            alpha=0.05,
        )
    )
    heading = "What per-class regularization could win at most"
    assert "converged" not in converged[heading]
    assert short[heading].startswith(converged[heading])
    assert "stopped before it converged (stationarity 0.012 after 30 steps)" in short[heading]
    assert "may be higher" in short[heading]


def test_the_chance_conclusion_names_mixed_evidence():
    # As measured on the Omniglot augmentation study: most classes best at one
    # strength (a spread of zero), while the oracle gap and the halves' agreement
    # are far beyond chance. The conclusion must not call it all chance.
    def conclusion(**changes):
        lines = dict(verdict(_totals(**changes), metric="recall", param_label="C", alpha=0.05))
        return lines["How far the spread of optima is from chance"]

    mixed = conclusion(spread_p_value=1.0, oracle_gap_p_value=0.001, split_half_p_value=0.001)
    assert "within what chance produces" not in mixed
    assert (
        "Mixed evidence: the oracle gap and the halves' agreement beyond chance, the spread "
        "within it" in mixed
    )
    only_halves = conclusion(split_half_p_value=0.01)
    assert (
        "Mixed evidence: the halves' agreement beyond chance, the spread and the oracle gap"
        in (only_halves)
    )
    both = conclusion(spread_p_value=0.01, oracle_gap_p_value=0.01)
    assert "differ beyond chance" in both and "Mixed" not in both
    none = conclusion()
    assert "within what chance produces" in none and "Mixed" not in none
