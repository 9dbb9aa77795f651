"""Tests of the Gaussian decoder (SPEC §5)."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.model import decoder

INTRINSICS = np.array([[200.0, 220.0, 64.0, 64.0]], np.float32)


def test_projection_golden_values():
  # u = 200·10/500 + 64 = 68, v = 220·20/500 + 64 = 72.8, σ_p = 10·210/500 = 4.2, z_p = 490.
  projected = decoder.project_gaussians([[[10.0, 20.0, 500.0]]], [10.0], INTRINSICS)
  np.testing.assert_allclose(projected, [[[68.0, 72.8, 4.2, 490.0]]], rtol=1e-6)


def test_per_example_sigmas_broadcast():
  centers = np.array([[[0.0, 0.0, 400.0], [0.0, 0.0, 800.0]]], np.float32)
  projected = decoder.GaussianDecoder()(centers, np.array([[8.0, 8.0]], np.float32), INTRINSICS)
  np.testing.assert_allclose(projected[0, :, 2], [8.0 * 210 / 400, 8.0 * 210 / 800], rtol=1e-6)


@pytest.mark.parametrize("depth", [0.0, -300.0, 1e-4])
def test_behind_the_camera_is_finite(depth):
  centers = tf.constant([[[10.0, 20.0, depth]]])
  with tf.GradientTape() as tape:
    tape.watch(centers)
    projected = decoder.project_gaussians(centers, [10.0], INTRINSICS)
    total = tf.reduce_sum(projected)
  assert np.all(np.isfinite(projected))
  gradient = tape.gradient(total, centers)
  assert np.all(np.isfinite(gradient))
  assert np.all(np.abs(gradient) <= 220.0 * 20.0 + 1.0)  # bounded by f·|xy|/z_min²
  assert projected[0, 0, 3] < 0.0  # the facing surface lies in front of every measurement


def test_rejects_bad_shapes():
  with pytest.raises(ValueError, match="centers"):
    decoder.project_gaussians(tf.zeros([1, 3]), [1.0], INTRINSICS)
  with pytest.raises(ValueError, match="intrinsics"):
    decoder.project_gaussians(tf.zeros([1, 1, 3]), [1.0], tf.zeros([4]))
