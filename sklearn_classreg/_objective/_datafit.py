"""The two datafits: softmax (K >= 3 classes) and sigmoid (two classes).

A datafit is the per-sample part of the objective: the kernels that turn a
block of logits into loss, gradient and Hessian products. Both share one
kernel signature, so the objective (`_logistic.py`) handles them alike.
"""

from collections.abc import Callable
from dataclasses import dataclass

from . import _kernels

__all__ = ["Datafit", "MULTINOMIAL", "BINOMIAL", "datafit_for"]


@dataclass(frozen=True)
class Datafit:
    """Kernels of one per-sample loss.

    Attributes
    ----------
    name : str
    shift_invariant : bool
        Whether adding a constant to every logit of a sample leaves the loss
        unchanged (softmax), which makes the intercepts defined up to a shift.
    loss_gradient : callable
        ``(z, intercept, y, weights, smoothing, logit_penalty, state_out,
        intercept_grad) -> loss``; see `_kernels.multinomial_loss_gradient`.
    hessian_state : callable
        ``(z, intercept, weights, logit_penalty, state_out)``: what Hessian
        products need per sample (probabilities, or sigmoid curvature).
    hessp : callable
        ``(v, v_intercept, state, weights, logit_penalty, intercept_hessp)``.
    dual_step : callable
        ``(z, intercept, v, v_intercept, y, weights, steps, sums)``: the dual
        point moved along a direction, for the refined duality gap; see
        `_kernels.multinomial_dual_step`.
    """

    name: str
    shift_invariant: bool
    loss_gradient: Callable
    hessian_state: Callable
    hessp: Callable
    dual_step: Callable

    def n_outputs(self, n_classes):
        """Number of linear outputs (rows of the coefficient matrix)."""
        return n_classes if self.shift_invariant else 1


def _multinomial_proba(z, intercept, weights, logit_penalty, state_out):
    _kernels.multinomial_proba(z, intercept, state_out)


MULTINOMIAL = Datafit(
    name="multinomial",
    shift_invariant=True,
    loss_gradient=_kernels.multinomial_loss_gradient,
    hessian_state=_multinomial_proba,
    hessp=_kernels.multinomial_hessp,
    dual_step=_kernels.multinomial_dual_step,
)

BINOMIAL = Datafit(
    name="binomial",
    shift_invariant=False,
    loss_gradient=_kernels.binomial_loss_gradient,
    hessian_state=_kernels.binomial_curvature,
    hessp=_kernels.binomial_hessp,
    dual_step=_kernels.binomial_dual_step,
)


def datafit_for(n_classes):
    """scikit-learn's convention: one sigmoid for two classes, softmax beyond."""
    return BINOMIAL if n_classes == 2 else MULTINOMIAL
