"""Joint-limit prior (SPEC §6): squared distance of each articulation angle to its range."""

import keras
import numpy as np
import tensorflow as tf

from handvol import shapes
from handvol.hand import limits


def joint_limit_energy(angles, lower, upper, name=None):
  """E_lim = Σ_j (θ^l_j − θ_j)² below the lower limit + (θ_j − θ^h_j)² above the upper.

  Args:
    angles: A tensor of shape `[B, J]`, articulation angles in radians (θ[6:26]).
    lower: A tensor of shape `[J]`, lower limits in radians.
    upper: A tensor of shape `[J]`, upper limits in radians.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]` (rad²); 0 when every angle lies inside its range.
  """
  with tf.name_scope(name or "joint_limit_energy"):
    angles = tf.convert_to_tensor(angles)
    lower = tf.convert_to_tensor(lower, dtype=angles.dtype)
    upper = tf.convert_to_tensor(upper, dtype=angles.dtype)
    shapes.check_static(angles, tensor_name="angles", has_rank=2)
    if lower.shape != upper.shape or (angles.shape[-1] is not None and
                                      lower.shape[-1] != angles.shape[-1]):
      raise ValueError(f"lower {lower.shape} and upper {upper.shape} must both have shape "
                       f"[J] with J = angles.shape[-1] = {angles.shape[-1]}")
    below = tf.nn.relu(lower - angles)
    above = tf.nn.relu(angles - upper)
    return tf.reduce_sum(tf.square(below) + tf.square(above), axis=-1)


@keras.saving.register_keras_serializable(package="handvol")
class JointLimitLoss(keras.layers.Layer):
  """The joint-limit prior as a layer holding the limits.

  Args:
    lower: Sequence of J lower limits (radians); default `handvol.hand.limits.LOWER`.
    upper: Sequence of J upper limits (radians); default `handvol.hand.limits.UPPER`.

  Call arguments:
    angles: `[B, J]` articulation angles in radians.

  Returns:
    `[B]` energies in rad².

  Example:
  >>> JointLimitLoss(lower=[0.0], upper=[1.0])(tf.constant([[1.5]]))  # [0.25]
  """

  def __init__(self, lower=None, upper=None, **kwargs):
    super().__init__(**kwargs)
    if (lower is None) != (upper is None):
      raise ValueError("give both lower and upper, or neither (the hand model's limits)")
    if lower is None:
      lower, upper = limits.LOWER, limits.UPPER
    self.lower = [float(x) for x in np.asarray(lower).ravel()]
    self.upper = [float(x) for x in np.asarray(upper).ravel()]

  def call(self, angles):
    return joint_limit_energy(angles, self.lower, self.upper)

  def get_config(self):
    config = super().get_config()
    config.update(lower=self.lower, upper=self.upper)
    return config
