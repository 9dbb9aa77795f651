"""Tests of the joint-limit prior."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.hand import limits
from handvol.losses import joint_limits


def test_energy_counts_only_violations():
  lower = [0.0, -0.5, 0.0]
  upper = [1.0, 0.5, 1.0]
  angles = [[-0.5, 0.2, 1.5],   # 0.5² below + 0 + 0.5² above
            [0.0, 0.5, 1.0]]    # on the limits: inside
  energy = joint_limits.joint_limit_energy(angles, lower, upper)
  np.testing.assert_allclose(energy, [0.5, 0.0], rtol=1e-6)


def test_gradient_pushes_back_into_range():
  angles = tf.constant([[-0.5, 0.2, 1.5]])
  with tf.GradientTape() as tape:
    tape.watch(angles)
    energy = joint_limits.JointLimitLoss(lower=[0.0, 0.0, 0.0], upper=[1.0, 1.0, 1.0])(angles)
  np.testing.assert_allclose(tape.gradient(energy, angles), [[-1.0, 0.0, 1.0]], atol=1e-6)


def test_default_limits_are_the_hand_models():
  layer = joint_limits.JointLimitLoss()
  np.testing.assert_allclose(layer.lower, limits.LOWER, rtol=1e-6)
  np.testing.assert_allclose(layer.upper, limits.UPPER, rtol=1e-6)
  middle = 0.5 * (limits.LOWER + limits.UPPER)
  np.testing.assert_allclose(layer(middle[np.newaxis].astype(np.float32)), [0.0])


def test_rejects_mismatched_limits():
  with pytest.raises(ValueError, match="lower"):
    joint_limits.joint_limit_energy(tf.zeros([1, 3]), [0.0, 0.0], [1.0, 1.0])
  with pytest.raises(ValueError, match="both"):
    joint_limits.JointLimitLoss(lower=[0.0])
