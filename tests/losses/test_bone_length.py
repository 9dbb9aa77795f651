"""Tests of the bone-length prior."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.losses import bone_length


def test_energy_is_squared_norm_per_example():
  beta = np.zeros([2, 20], np.float32)
  beta[0, :3] = [1.0, -2.0, 0.5]  # 1 + 4 + 0.25
  energy = bone_length.bone_length_energy(beta)
  np.testing.assert_allclose(energy, [5.25, 0.0], rtol=1e-6)


def test_layer_gradient_is_two_beta():
  beta = tf.constant([[1.0, -2.0] + [0.0] * 18])
  with tf.GradientTape() as tape:
    tape.watch(beta)
    energy = tf.reduce_sum(bone_length.BoneLengthLoss()(beta))
  np.testing.assert_allclose(tape.gradient(energy, beta), 2.0 * beta.numpy())


def test_rejects_wrong_rank():
  with pytest.raises(ValueError, match="beta"):
    bone_length.bone_length_energy(tf.zeros([20]))
