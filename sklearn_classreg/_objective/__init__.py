"""The objective: what is minimised, and the kernels that compute it (machinery)."""
