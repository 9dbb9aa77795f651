"""The One Euro filter against its formulas."""

import numpy as np
import pytest

from handvol.evaluation import metrics
from handvol.track import one_euro


def test_smoothing_factor_is_the_papers():
  # τ = 1/(2π·1 Hz), T_e = 1/30 s: α = 1/(1 + τ/T_e) = 1/(1 + 30/(2π)) = 0.17316...
  expected = 1.0 / (1.0 + 30.0 / (2.0 * np.pi))
  assert one_euro.smoothing_factor(1.0, 1.0 / 30.0) == pytest.approx(expected)
  assert one_euro.smoothing_factor(1e9, 0.01) == pytest.approx(1.0)


def test_first_sample_passes_and_beta_zero_is_an_exponential_smoother():
  smoother = one_euro.OneEuroFilter(min_cutoff_hz=2.0, beta=0.0)
  first = np.zeros((21, 3))
  np.testing.assert_array_equal(smoother(first, 0.0), first)
  step = np.full((21, 3), 10.0)
  alpha = 1.0 / (1.0 + 1.0 / (2.0 * np.pi * 2.0) / 0.1)
  np.testing.assert_allclose(smoother(step, 0.1), alpha * step)
  np.testing.assert_allclose(smoother(step, 0.2), alpha * step + (1 - alpha) * alpha * step)


def test_speed_raises_the_cutoff_less_lag_on_a_ramp():
  times = np.arange(60) / 30.0
  ramp = (500.0 * times)[:, None, None] * np.array([1.0, 0.0, 0.0])  # 500 mm/s along x
  lag = {}
  for beta in (0.0, 0.05):
    filtered = one_euro.filter_sequence(np.broadcast_to(ramp, (60, 2, 3)), times, 1.0, beta)
    lag[beta] = np.abs(filtered[-1, 0, 0] - ramp[-1, 0, 0])
  assert lag[0.05] < 0.3 * lag[0.0]


def test_noise_is_reduced_and_invalid_frames_reset():
  rng = np.random.default_rng(0)
  times = np.arange(200) / 30.0
  truth = np.broadcast_to(np.array([0.0, 0.0, 500.0]), (200, 21, 3))
  noisy = truth + 5.0 * rng.standard_normal((200, 21, 3))
  valid = np.ones(200, bool)
  valid[100] = False
  filtered = one_euro.filter_sequence(noisy, times, 1.0, 0.0, valid=valid)
  assert metrics.jitter(filtered[:100]) < 0.2 * metrics.jitter(noisy[:100])
  np.testing.assert_array_equal(filtered[100:102], noisy[100:102])  # unchanged, then restarted
  with pytest.raises(ValueError, match="increase"):
    smoother = one_euro.OneEuroFilter()
    smoother(truth[0], 1.0)
    smoother(truth[0], 1.0)
  with pytest.raises(ValueError, match="must be"):
    one_euro.OneEuroFilter(min_cutoff_hz=0.0)


def test_jitter_is_the_mean_acceleration():
  positions = np.array([0.0, 1.0, 4.0, 9.0])[:, None, None] * np.array([[1.0, 0.0, 0.0]])
  assert metrics.jitter(positions) == pytest.approx(2.0)  # x = t²: second difference 2
  assert metrics.jitter(positions[:2]) == 0.0
