r"""A certificate of optimality: a duality gap from one loss-and-gradient evaluation.

The scaled objective (see `LogisticObjective`) is

    f(W, b) = sum_i w_i l_i(W x_i + b) + sum_k lambda_k / 2 ||w_k||^2,

with normalised weights w_i, lambda_k = 1 / (C_k S), and l_i the per-sample
loss (cross-entropy with smoothed target t_i, plus the logit penalty). Its
Fenchel dual has one vector u_i per sample:

    D(u) = - sum_i w_i l_i*(u_i) - sum_k ||G_k(u)||^2 / (2 lambda_k),
    G(u) = sum_i w_i u_i x_i^T,   subject to  sum_i w_i u_i = 0 (the intercept),

and f(W, b) - min f <= f(W, b) - D(u) for every feasible u (weak duality).

The dual point comes for free from the evaluation: u_i = grad l_i(z_i), whose
weighted sum is the intercept's gradient g. It is made feasible without
another pass over X by mixing it with a point of known conjugate value::

    u'_i = (1 - theta) u_i + theta (rho - t_i),    rho = tau - (1 - theta) g / theta,

with tau = sum_i w_i t_i and the smallest theta in [0, 1) that keeps rho a
probability vector: then sum_i w_i u'_i = 0. By convexity of l_i* and
Fenchel-Young's equality at u_i, the conjugate terms are bounded by
(1 - theta) (u_i . z_i - l_i(z_i)) + theta sum_k rho_k log rho_k (the second
from l_i = h_i + q with the logit penalty q: l_i* <= h_i* + q*(0)). Writing
Gamma = grad_W f, E = rho xbar^T - T (xbar = sum_i w_i x_i,
T = sum_i w_i t_i x_i^T) and V = (1 - theta) Gamma + theta (E + Lambda W), the
bound is::

    gap = sum_k ||V_k||^2 / (2 lambda_k) + (1 - theta) g . b
          + theta (L + sum_k rho_k log rho_k - <E, W>),

with L the data term. It is zero at the optimum (g = 0, Gamma = 0) and costs a
few parameter-sized operations. Without an intercept theta = 0 and the bound is
sum_k ||Gamma_k||^2 / (2 lambda_k). The same holds for the sigmoid model with
the two-class vectors (1 - tau, tau) and (-g, g). An unpenalized output
(lambda_k = 0) needs G_k(u) = 0 exactly, which no cheap dual point meets: no
bound is returned then.

A tighter certificate: the dual point moved along a Newton direction
---------------------------------------------------------------------
At weak regularization the bound above is about ||Gamma||^2 / (2 lambda),
orders of magnitude above f - min f when lambda is small. Given a direction
d = (D, d_b) in parameter space (ideally the Newton step, H d = -grad f), move
each sample's probabilities to

    p'_i = p_i * (1 + c s_i),   s_i = v_i - p_i . v_i,   v_i = D x_i + d_b,

which stay a probability vector while they are positive (a row whose s_i
has an entry below -1/2 is scaled down until it has none, so that no step c
below 2 leaves the simplex; any move gives a valid bound): the dual point
moves by c a_i with a_i = p_i * s_i. Its conjugate terms rise by at most
sum_i w_i KL(p'_i || p_i) over Fenchel-Young's equality at u_i (with the
logit penalty too: l_i* <= h_i*(p'_i - t_i) + q*(grad q(z_i))), and the moved
point acts as an evaluation whose weight gradient is Gamma + c M,
M = sum_i w_i a_i x_i^T, and whose intercept gradient is g + c m,
m = sum_i w_i a_i. The shift above then makes it feasible, with p' in place
of p. So, for every step c,

    gap(c) = [the shifted bound at (Gamma + c M, g + c m, p')] + sum_i w_i KL(p'_i || p_i).

For the exact Newton step and c = 1, Gamma + M = -Lambda D and the bound is
about the Newton decrement (g^T H^{-1} grad) / 2, which is f - min f to second
order: the certificate is then as tight as the solution. Any direction gives
a valid bound; a poor one only a loose one. One pass over X computes M, m
and the per-sample sums for a few steps c at once (`DualStep`).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import xlogy

__all__ = [
    "DualStep",
    "STEPS",
    "duality_gap",
    "gradient_term",
    "mixing",
    "penalty_strengths",
    "refined_duality_gap",
    "shift",
]

# The steps c tried along the direction (the exact Newton step has its best
# near c = 1; an inexact one, or a point far from the optimum, elsewhere).
STEPS = np.array([0.25, 0.5, 0.7, 0.85, 1.0, 1.15, 1.3, 1.6])


@dataclass
class DualStep:
    """What one pass over X gives about the dual point moved along a direction.

    Attributes
    ----------
    steps : ndarray of shape (n_steps,)
    move : array of shape (n_outputs, n_features), the objective's type
        M = sum_i w_i a_i x_i^T for the output rows.
    intercept_move : ndarray of shape (n_outputs,)
        m = sum_i w_i a_i.
    kl : ndarray of shape (n_steps,)
        sum_i w_i KL(p'_i || p_i) at each step.
    outside : ndarray of shape (n_steps,), bool
        Whether some p'_i left the open simplex (no bound at that step).
    true_class_sums : ndarray of shape (n_steps, 2, n_classes)
        Per class, over its samples: sum of w_i (-log p'_ic) and w_i / p'_ic.
    """

    steps: np.ndarray
    move: Any
    intercept_move: np.ndarray
    kl: np.ndarray
    outside: np.ndarray
    true_class_sums: np.ndarray

    @classmethod
    def from_sums(cls, objective, move, sums, steps=STEPS):
        """From the kernels' sums (see `_kernels.multinomial_dual_step`)."""
        K = objective.n_classes
        n_steps = len(steps)
        outputs = slice(None) if objective.datafit.shift_invariant else slice(1, 2)
        return cls(
            steps=np.asarray(steps, dtype=np.float64),
            move=move,
            intercept_move=sums[n_steps, :K][outputs].copy(),
            kl=sums[:n_steps, 2 * K].copy(),
            outside=sums[:n_steps, 2 * K + 1] > 0,
            true_class_sums=sums[:n_steps, : 2 * K].reshape(n_steps, 2, K).copy(),
        )


def mixing(intercept_gradient, tau):
    """theta and rho of the mixed dual point (see the module docstring).

    Parameters
    ----------
    intercept_gradient : ndarray of shape (n_classes,)
        g, with entries summing to zero.
    tau : ndarray of shape (n_classes,)
        The weighted mean target, a probability vector.

    Returns
    -------
    theta : float in [0, 1)
    rho : ndarray of shape (n_classes,), a probability vector
    """
    g = intercept_gradient
    positive = g > 0
    if not positive.any():
        return 0.0, tau.copy()
    theta = float(np.max(g[positive] / (tau[positive] + g[positive])))
    rho = np.maximum(tau - (1.0 - theta) / theta * g, 0.0)
    return theta, rho / rho.sum()


def shift(intercept_gradient, class_weights, min_weights, true_class_sums):
    """The per-class shifts of the shifted dual point, and what they cost.

    Parameters
    ----------
    intercept_gradient : ndarray of shape (n_classes,)
        g, with entries summing to zero.
    class_weights, min_weights : ndarray of shape (n_classes,)
        Per class: the total and the smallest positive weight of its samples.
    true_class_sums : ndarray of shape (2, n_classes)
        Per class c, over its samples: sum of w_i (-log p_ic) and of w_i / p_ic.

    Returns
    -------
    (delta, spread, cost) or None
        delta_c = g_c / W_c for g_c > 0 (zero elsewhere), the probability taken
        from each class-c sample's own class; spread_j = |g_j| / sum(g > 0) for
        g_j < 0, where it goes; cost bounds what the shift adds to the
        conjugate terms. None when a shift would leave the simplex.
    """
    g = intercept_gradient
    positive = g > 0
    if not positive.any():
        return np.zeros_like(g), np.zeros_like(g), 0.0
    neg_log_p, inverse_p = true_class_sums
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(positive, g / class_weights, 0.0)
        # every class-c sample has p_ic >= min_weight_c / sum_i (w_i / p_ic)
        p_floor = np.where(positive, min_weights / inverse_p, 1.0)
    if not np.all(np.isfinite(delta)) or np.any(delta > 0.5 * p_floor):
        return None
    spread = np.where(positive, 0.0, -g / g[positive].sum())
    # per sample: delta (-log(p - delta)) <= delta (-log p) + delta^2 / (p - delta)
    d, p = delta[positive], p_floor[positive]
    cost = np.sum(d * neg_log_p[positive] + d**2 * inverse_p[positive] / (1.0 - d / p))
    return delta, spread, float(cost)


def duality_gap(objective, coef, loss, gradient):
    """The bound of the module docstring for `objective` at `coef`.

    Parameters
    ----------
    objective : LogisticObjective or TorchLogisticObjective
        Its last evaluation must be at `coef` (the per-class sums of that
        evaluation are used).
    coef, gradient : arrays of the objective's type, shape (n_params,)
    loss : float
        The objective at `coef` (`gradient` is its gradient there).

    Returns
    -------
    float or None
        Non-negative (rounding below zero is clipped); None when an output is
        unpenalized; ``inf`` when the evaluation was not finite.
    """
    l2 = penalty_strengths(objective)
    if l2 is None:
        return None
    if not np.isfinite(loss):
        return np.inf
    W, b = objective.unpack(coef)
    grad_W, grad_b = objective.unpack(gradient)
    if b is None:
        return gradient_term(objective, grad_W, l2)
    moments = _moments(objective)
    intercept_gradient = objective.to_numpy(grad_b).astype(np.float64)
    g = moments.class_vector(intercept_gradient)
    intercept_term = float(intercept_gradient @ objective.to_numpy(b).astype(np.float64))
    # The shifted point is far tighter near the optimum (its cost is second order
    # in g); the mixed one is the fallback where a shift would leave the simplex.
    shifted = shift(g, moments.class_weights, moments.min_weights, objective.true_class_sums)
    if shifted is not None:
        gap = _shifted_gap(objective, moments, W, grad_W, shifted, intercept_term, l2)
    else:
        gap = _mixed_gap(objective, moments, W, grad_W, g, intercept_term, loss, l2)
    return np.inf if np.isnan(gap) else max(gap, 0.0)  # NaN: an overflow, no bound


def refined_duality_gap(objective, coef, loss, gradient, direction):
    """The bound with the dual point moved along `direction`, at its best step.

    See the module docstring. A poor direction gives a loose bound, or
    ``inf`` when no step keeps the moved point in the simplex: callers keep
    the smaller of this and `duality_gap`.

    Parameters
    ----------
    objective : LogisticObjective or TorchLogisticObjective
    coef, gradient, direction : arrays of the objective's type, shape (n_params,)
    loss : float
        The objective at `coef` (`gradient` is its gradient there).

    Returns
    -------
    float or None
        As for `duality_gap`.
    """
    l2 = penalty_strengths(objective)
    if l2 is None:
        return None
    if not np.isfinite(loss):
        return np.inf
    W, b = objective.unpack(coef)
    grad_W, grad_b = objective.unpack(gradient)
    moved = objective.dual_step(coef, direction, STEPS)
    if b is not None:
        moments = _moments(objective)
        intercept_gradient = objective.to_numpy(grad_b).astype(np.float64)
        b64 = objective.to_numpy(b).astype(np.float64)
    best = np.inf
    for c, kl, outside, sums in zip(
        moved.steps, moved.kl, moved.outside, moved.true_class_sums, strict=True
    ):
        if outside or not np.isfinite(kl):
            continue
        Gamma = moved.move * float(c)
        Gamma += grad_W
        if b is None:
            gap = gradient_term(objective, Gamma, l2) + kl
        else:
            moved_gradient = intercept_gradient + float(c) * moved.intercept_move
            shifted = shift(
                moments.class_vector(moved_gradient),
                moments.class_weights,
                moments.min_weights,
                sums,
            )
            if shifted is None:
                continue
            gap = kl + _shifted_gap(
                objective, moments, W, Gamma, shifted, float(moved_gradient @ b64), l2
            )
        if gap < best:  # NaN (an overflow) is never kept
            best = gap
    return max(best, 0.0)


def penalty_strengths(objective):
    """lambda_k = 1 / (C_k S) per output, or None when one is zero (no bound then)."""
    l2 = objective.l2_strength / objective.total_weight
    return None if np.any(l2 == 0) else l2


def _moments(objective):
    """The objective's `_Moments`, made on first use and kept."""
    if objective._gap_moments is None:
        objective._gap_moments = _Moments(objective)
    return objective._gap_moments


class _Moments:
    """Per-class sums of the data (computed once by the objective) and what follows."""

    def __init__(self, objective):
        n_classes = objective.n_classes
        self.class_sums = objective._class_sums()
        # per class: the total and the smallest positive weight of its samples
        weights = np.asarray(objective.to_numpy(objective.weights), dtype=np.float64)
        y = np.asarray(objective.to_numpy(objective.y))
        self.class_weights = np.bincount(y, weights=weights, minlength=n_classes)
        self.min_weights = np.full(n_classes, np.inf)
        np.minimum.at(self.min_weights, y[weights > 0], weights[weights > 0])
        smoothing = np.asarray(objective.to_numpy(objective.label_smoothing), dtype=np.float64)
        self.smoothing = np.broadcast_to(smoothing, (n_classes,))
        self.binary = not objective.datafit.shift_invariant
        # tau_c = sum_i w_i t_ic, t the smoothed target
        self.tau = (1.0 - self.smoothing) * self.class_weights + (
            self.smoothing / n_classes @ self.class_weights
        )
        self.x_mean = self.class_sums.sum(0)
        self.outputs = slice(1, 2) if self.binary else slice(None)

    def targets(self, objective):
        """T_c = sum_i w_i t_ic x_i for the output rows (a new array)."""
        spread = objective.ops.asarray(self.smoothing / len(self.smoothing))
        sums = self.class_sums[self.outputs]
        targets = objective.ops.asarray(1.0 - self.smoothing[self.outputs])[:, None] * sums
        targets += (spread @ self.class_sums)[None, :]
        return targets

    def class_vector(self, intercept_gradient):
        """The intercept's gradient as one entry per class (the sigmoid's: (-g, g))."""
        if self.binary:
            return np.array([-intercept_gradient[0], intercept_gradient[0]])
        return intercept_gradient


def _mixed_gap(objective, moments, W, grad_W, g, intercept_term, loss, l2):
    """The bound with the mixed dual point (module docstring)."""
    theta, rho = mixing(g, moments.tau)
    if theta == 0.0:
        return gradient_term(objective, grad_W, l2) + intercept_term
    rho_of_output = rho[moments.outputs]
    rho_array = objective.ops.asarray(rho_of_output)
    targets = moments.targets(objective)
    # E + Lambda W, then V = (1 - theta) Gamma + theta (E + Lambda W), in one buffer
    V = objective._l2[:, None] * W
    V -= targets
    V += rho_array[:, None] * moments.x_mean[None, :]
    V *= theta
    V += (1.0 - theta) * grad_W
    quadratic = gradient_term(objective, V, l2)
    del V
    # <E, W> = sum_k rho_k <xbar, w_k> - <T_k, w_k>
    E_dot_W = float(rho_of_output @ objective.to_numpy(W @ moments.x_mean).astype(np.float64))
    E_dot_W -= float(objective.to_numpy((targets * W).sum()))
    penalty = 0.5 * float(l2 @ objective.ops.row_squared_norms(W))
    mixed = loss - penalty + float(np.sum(xlogy(rho, rho))) - E_dot_W
    return quadratic + intercept_term + theta * mixed


def _shifted_gap(objective, moments, W, grad_W, shifted, intercept_term, l2):
    """The bound with the shifted dual point: u_i + D_{y_i} (module docstring)."""
    delta, spread, cost = shifted
    # Delta = D^T M: rows -delta_j m_j + spread_j s, with s = sum_c delta_c m_c
    sums = moments.class_sums
    s = objective.ops.asarray(delta) @ sums
    Delta = objective.ops.asarray(-delta)[:, None] * sums
    Delta += objective.ops.asarray(spread)[:, None] * s[None, :]
    Delta = Delta[moments.outputs]
    Delta_dot_W = float(objective.to_numpy((Delta * W).sum()))
    Delta += grad_W
    return gradient_term(objective, Delta, l2) - Delta_dot_W + intercept_term + cost


def gradient_term(objective, V, l2):
    """sum_k ||V_k||^2 / (2 lambda_k)."""
    return float(np.sum(objective.ops.row_squared_norms(V) / (2.0 * l2)))
