"""The One Euro filter (Casiez, Roussel, Vogel, "1€ Filter: A Simple Speed-based Low-pass
Filter for Noisy Input in Interactive Systems", CHI 2012) on 3D joints.

A first-order low-pass filter whose cutoff rises with the signal's speed: slow motion is
smoothed hard (little jitter), fast motion lightly (little lag). Per sample i with time step
T_e = t_i − t_{i−1} (the paper's formulas):

    α(f_c) = 1 / (1 + τ / T_e),  τ = 1 / (2π f_c)
    dx_i   = (x_i − x̂_{i−1}) / T_e
    d̂x_i   = α(d_cutoff)·dx_i + (1 − α(d_cutoff))·d̂x_{i−1}
    f_c    = min_cutoff + beta·|d̂x_i|
    x̂_i    = α(f_c)·x_i + (1 − α(f_c))·x̂_{i−1}

Our choice for points: one cutoff per joint from the norm of its filtered 3D velocity (mm/s),
so the filter does not depend on the camera's axes; `beta` is then in 1/mm. The first sample
passes through (x̂_0 = x_0, d̂x_0 = 0); `reset` starts afresh (after frames without a hand).
"""

import numpy as np


def smoothing_factor(cutoff_hz, dt_s):
  """α of an exponential smoother with cutoff `cutoff_hz` at time step `dt_s` (both > 0)."""
  tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff_hz, np.float64))
  return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
  """The One Euro filter on arrays of points `[..., 3]` (module docstring).

  Args:
    min_cutoff_hz: The cutoff at rest, Hz (lower: smoother at rest, more lag).
    beta: The cutoff's rise per mm/s of speed, 1/mm (higher: less lag in fast moves).
    d_cutoff_hz: The cutoff of the speed's own smoothing, Hz.

  Example:
  >>> smoother = OneEuroFilter(min_cutoff_hz=1.0, beta=0.01)
  >>> filtered = [smoother(joints, t) for joints, t in zip(sequence, times)]
  """

  def __init__(self, min_cutoff_hz=1.0, beta=0.0, d_cutoff_hz=1.0):
    if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta < 0:
      raise ValueError(f"min_cutoff_hz and d_cutoff_hz must be > 0 and beta ≥ 0, got "
                       f"{min_cutoff_hz}, {d_cutoff_hz}, {beta}")
    self.min_cutoff_hz = float(min_cutoff_hz)
    self.beta = float(beta)
    self.d_cutoff_hz = float(d_cutoff_hz)
    self.reset()

  def reset(self):
    """Forgets the past: the next sample passes through unchanged."""
    self._value = None
    self._speed = None
    self._time = None

  def __call__(self, points, time_s):
    """Filters one sample.

    Args:
      points: An array of shape `[..., 3]` (mm), the same shape every call.
      time_s: The sample's time in seconds, later than the previous sample's.

    Returns:
      The filtered points, float64, of `points`' shape.
    """
    points = np.asarray(points, np.float64)
    if self._value is None:
      self._value, self._speed, self._time = points, np.zeros(points.shape[:-1]), time_s
      return points.copy()
    if points.shape != self._value.shape:
      raise ValueError(f"points must keep the shape {self._value.shape}, got {points.shape}")
    dt = time_s - self._time
    if not dt > 0:
      raise ValueError(f"times must increase: {time_s} after {self._time}")
    speed = np.linalg.norm(points - self._value, axis=-1) / dt
    alpha_d = smoothing_factor(self.d_cutoff_hz, dt)
    self._speed = alpha_d * speed + (1.0 - alpha_d) * self._speed
    alpha = smoothing_factor(self.min_cutoff_hz + self.beta * self._speed, dt)[..., None]
    self._value = alpha * points + (1.0 - alpha) * self._value
    self._time = time_s
    return self._value.copy()


def filter_sequence(points, times_s, min_cutoff_hz=1.0, beta=0.0, d_cutoff_hz=1.0, valid=None):
  """The One Euro filter over a whole sequence; restarts after each invalid frame.

  Args:
    points: `[F, ..., 3]` mm.
    times_s: `[F]` increasing times, seconds.
    min_cutoff_hz, beta, d_cutoff_hz: As in `OneEuroFilter`.
    valid: Optional `[F]` bools; invalid frames are returned unchanged and reset the filter.

  Returns:
    `[F, ..., 3]` float64.
  """
  smoother = OneEuroFilter(min_cutoff_hz, beta, d_cutoff_hz)
  points = np.asarray(points, np.float64)
  out = points.copy()
  for index, (sample, time_s) in enumerate(zip(points, times_s)):
    if valid is not None and not valid[index]:
      smoother.reset()
      continue
    out[index] = smoother(sample, time_s)
  return out
