"""Bone-length prior E_bone = ‖β‖² (SPEC §6): keeps β in the likely region of the PCA prior."""

import keras
import tensorflow as tf

from handvol import shapes


def bone_length_energy(beta, name=None):
  """E_bone = ‖β‖² per example.

  Args:
    beta: A tensor of shape `[B, NUM_BETA]`, bone-length coefficients (unitless, β ~ N(0, I)).
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]`.
  """
  with tf.name_scope(name or "bone_length_energy"):
    beta = tf.convert_to_tensor(beta)
    shapes.check_static(beta, tensor_name="beta", has_rank=2)
    return tf.reduce_sum(tf.square(beta), axis=-1)


@keras.saving.register_keras_serializable(package="handvol")
class BoneLengthLoss(keras.layers.Layer):
  """The bone-length prior as a layer.

  Call arguments:
    beta: `[B, NUM_BETA]` bone-length coefficients.

  Returns:
    `[B]` energies, ‖β‖².

  Example:
  >>> BoneLengthLoss()(tf.ones([2, 20]))  # [20., 20.]
  """

  def call(self, beta):
    return bone_length_energy(beta)
