"""Tests of the 3D overlap and the collision prior."""

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate

from handvol.hand import volume
from handvol.losses import collision


def _integrated_overlap_3d(center_a, sigma_a, center_b, sigma_b):
  """∫ g_a g_b over R³ by quadrature: the product separates into three 1D integrals."""
  total = 1.0
  for a, b in zip(center_a, center_b):
    value, _ = integrate.quad(
        lambda x, a=a, b=b: math.exp(-(x - a)**2 / (2 * sigma_a**2) - (x - b)**2 /
                                     (2 * sigma_b**2)),
        min(a, b) - 100.0, max(a, b) + 100.0, points=[a, b])
    total *= value
  return total


def test_overlap_3d_matches_the_integral():
  center_a, center_b = [0.0, 0.0, 500.0], [6.0, -8.0, 510.0]
  expected = _integrated_overlap_3d(center_a, 10.0, center_b, 7.0)
  value = collision.overlap_3d([center_a], [10.0], [center_b], [7.0])
  np.testing.assert_allclose(value, [expected], rtol=1e-4)


def test_overlap_3d_golden_value():
  # σ = 10 mm each, 10 mm apart: (2π·100·100/200)^{3/2}·exp(−100/400).
  value = collision.overlap_3d([0.0, 0.0, 0.0], 10.0, [10.0, 0.0, 0.0], 10.0)
  np.testing.assert_allclose(value, (100.0 * math.pi)**1.5 * math.exp(-0.25), rtol=1e-5)


def test_collision_energy_sums_listed_pairs_only():
  centers = np.array([[[0.0, 0.0, 500.0], [10.0, 0.0, 500.0], [10.0, 20.0, 500.0]]], np.float32)
  sigmas = [10.0, 10.0, 5.0]
  pairs = [[0, 1], [1, 2]]  # not (0, 2)
  expected = (_integrated_overlap_3d(centers[0, 0], 10.0, centers[0, 1], 10.0) +
              _integrated_overlap_3d(centers[0, 1], 10.0, centers[0, 2], 5.0))
  energy = collision.collision_energy(centers, sigmas, pairs)
  np.testing.assert_allclose(energy, [expected], rtol=1e-4)


def test_gradient_repels_the_pair():
  centers = tf.constant([[[0.0, 0.0, 500.0], [5.0, 0.0, 500.0]]])
  with tf.GradientTape() as tape:
    tape.watch(centers)
    energy = collision.CollisionLoss(sigmas=[10.0, 10.0], pairs=[[0, 1]])(centers)
  gradient = tape.gradient(energy, centers).numpy()
  assert gradient[0, 0, 0] > 0 > gradient[0, 1, 0]  # descent moves them apart
  np.testing.assert_allclose(gradient[0, 0], -gradient[0, 1], rtol=1e-5)


def test_default_layer_uses_the_volume_model():
  layer = collision.CollisionLoss()
  assert len(layer.sigmas) == volume.NUM_GAUSSIANS
  assert len(layer.pairs) == len(volume.COLLISION_PAIRS)
  far_apart = np.arange(volume.NUM_GAUSSIANS, dtype=np.float32)[:, np.newaxis] * [1e4, 0, 0]
  energy = layer(far_apart[np.newaxis] + [0.0, 0.0, 500.0])
  np.testing.assert_allclose(energy, [0.0], atol=1e-6)


def test_rejects_bad_shapes():
  with pytest.raises(ValueError, match="centers"):
    collision.collision_energy(tf.zeros([2, 3]), [1.0, 1.0], [[0, 1]])
  with pytest.raises(ValueError, match="pairs"):
    collision.collision_energy(tf.zeros([1, 2, 3]), [1.0, 1.0], [0, 1])
