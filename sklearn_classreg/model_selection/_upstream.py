"""The upstream view: what the augmentation does to the most ambiguous classes' features."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.model_selection import StratifiedKFold

from ..feature_extraction import AmbiguousClassLDA, find_ambiguous_classes
from ..metrics._names import CLASS_METRICS

__all__ = ["UpstreamView", "upstream_view"]


@dataclass
class UpstreamView:
    """The most ambiguous classes in their discriminant space, along the strength.

    Attributes
    ----------
    classes : ndarray
        The ambiguous classes, in the order they were chosen.
    strengths : list of float
    separability : pandas.DataFrame
        Columns "strength", "class_a", "class_b", "fisher": Fisher's
        criterion of each pair at each strength, cross-fitted (the LDA fitted
        on the views of half of each class's images, measured on the views of
        the other half, and the other way round; averaged).
    projections : list of (float, ndarray of shape (n, 2), ndarray of shape (n,))
        Per strength: the views of one half of these classes' images on the
        first two discriminant axes of the LDA fitted on the other half, and
        their labels.
    per_class : pandas.DataFrame
        Per class: its cross-validated metric and its mean separability from
        the other ambiguous classes at each strength, and the Spearman
        correlation of the two along the strength ("tracks").
    metric : str
    summary : str
        The view in two sentences.
    """

    classes: np.ndarray
    strengths: list
    separability: pd.DataFrame
    projections: list
    per_class: pd.DataFrame
    metric: str
    summary: str


def upstream_view(study, n_classes=4):
    """Fisher separability and LDA projections of the most ambiguous classes per strength.

    The classes are those most confused with one another by the probe at
    the least augmented point of the study's grid (`find_ambiguous_classes`
    on its pooled out-of-fold confusion). At each strength, an LDA
    (`AmbiguousClassLDA`, Ledoit-Wolf shrinkage) is fitted on the views of
    half of each class's training images and Fisher's criterion measured for
    each pair on the views of the other half (and the other way round):
    measured on the samples that fitted it, with more features than samples,
    the criterion would be inflated, and the more so with fewer distinct
    images (at strength 0 the views repeat the clean image).
    Whether augmentation moves them together or apart is read from the mean
    separability; whether that tracks each class's cross-validated metric
    from their Spearman correlation along the strength.

    Parameters
    ----------
    study : AugmentationStudy
        Fitted (without `C_range`).
    n_classes : int, default=4
        At least 2.

    Returns
    -------
    UpstreamView
    """
    if study.C_range is not None:
        raise ValueError("upstream_view needs a study of the strength alone (no C_range).")
    K = len(study.classes_)
    if not 2 <= n_classes <= K:
        raise ValueError(f"n_classes must be in [2, {K}]; got {n_classes!r}.")
    banks, labels = study.banks_, study.labels_
    chosen = study.classes_[find_ambiguous_classes(study.confusion_, n_classes)]
    images = np.flatnonzero(np.isin(labels, chosen))
    smallest = np.bincount(np.unique(labels[images], return_inverse=True)[1]).min()
    if smallest < 4:
        raise ValueError(
            f"The upstream view cross-fits its LDA on two halves of each class's images: it "
            f"needs at least 4 training images per class; one of {chosen.tolist()} has "
            f"{smallest}."
        )
    halves = [
        (images[a], images[b])
        for a, b in StratifiedKFold(2, shuffle=True, random_state=0).split(images, labels[images])
    ]
    strengths = [float(s) for s in study.param_values_]
    separability, projections = [], []
    for strength in strengths:
        fisher = []
        for half, (fitted_on, measured_on) in enumerate(halves):
            X_fit, rows_fit = banks.training_features(
                fitted_on, strength, include_clean=study.include_clean
            )
            X_out, rows_out = banks.training_features(
                measured_on, strength, include_clean=study.include_clean
            )
            try:
                lda = AmbiguousClassLDA(classes=chosen).fit(X_fit, labels[rows_fit])
            except np.linalg.LinAlgError as error:
                raise ValueError(
                    f"The LDA of the classes {chosen.tolist()} is singular at strength "
                    f"{strength:g} (their within-class covariance, even shrunk, is not "
                    f"positive definite): too few distinct training images per class "
                    f"({smallest}) for their {X_fit.shape[1]} features."
                ) from error
            fisher.append(lda.separability(X_out, labels[rows_out]))
            if half == 0:  # the figure shows the first half's
                projected = lda.transform(X_out)
                if projected.shape[1] == 1:
                    projected = np.column_stack([projected[:, 0], np.zeros(len(projected))])
                projections.append((strength, projected[:, :2], labels[rows_out]))
        pairs = fisher[0][["class_a", "class_b"]].assign(
            fisher=np.mean([f.fisher.to_numpy() for f in fisher], axis=0), strength=strength
        )
        separability.append(pairs)
    separability = pd.concat(separability, ignore_index=True)[
        ["strength", "class_a", "class_b", "fisher"]
    ]
    per_class = _per_class(study, chosen, separability, strengths)
    return UpstreamView(
        chosen,
        strengths,
        separability,
        projections,
        per_class,
        study.metric,
        _summary(separability, per_class, strengths, study.metric),
    )


def _per_class(study, chosen, separability, strengths):
    curve = study.curve_
    metric = curve[(curve.metric == study.metric) & curve["class"].isin(list(chosen))]
    means = metric.groupby(["class", "value_index"]).value.mean().unstack()
    sign = CLASS_METRICS[study.metric]
    rows = {}
    for label in chosen:
        pairs = separability[(separability.class_a == label) | (separability.class_b == label)]
        mean_fisher = pairs.groupby("strength").fisher.mean().reindex(strengths).to_numpy()
        values = means.loc[label].reindex(range(len(strengths))).to_numpy()
        row = {f"{study.metric} at {s:g}": v for s, v in zip(strengths, values, strict=True)}
        row.update(
            {f"separability at {s:g}": f for s, f in zip(strengths, mean_fisher, strict=True)}
        )
        tracks = np.nan
        if len(strengths) >= 3 and np.ptp(values) > 0 and np.ptp(mean_fisher) > 0:
            tracks = float(spearmanr(mean_fisher, sign * values).statistic)
        row["tracks"] = tracks
        rows[label] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "class"
    return frame


def _summary(separability, per_class, strengths, metric):
    mean = separability.groupby("strength").fisher.mean().reindex(strengths)
    first, last = mean.iloc[0], mean.iloc[-1]
    direction = "apart" if last > first else "together"
    sentence = (
        f"From strength {strengths[0]:g} to {strengths[-1]:g}, the mean Fisher separability of "
        f"the {len(per_class)} most ambiguous classes (cross-fitted) goes from {first:.3g} to "
        f"{last:.3g}: the augmentation moves them {direction} in the frozen network's features"
    )
    peak, trough = mean.idxmax(), mean.idxmin()
    if peak not in (strengths[0], strengths[-1]):
        sentence += f", after a peak of {mean.max():.3g} at strength {peak:g}"
    elif trough not in (strengths[0], strengths[-1]):
        sentence += f", after a trough of {mean.min():.3g} at strength {trough:g}"
    sentence += "."

    tracks = per_class["tracks"].dropna()
    if len(tracks):
        agree = int((tracks > 0).sum())
        sentence += (
            f" For {agree} of {len(tracks)} classes the separability and the cross-validated "
            f"{metric} move together along the strength (Spearman rho > 0; median "
            f"{tracks.median():.2f})."
        )
    return sentence
