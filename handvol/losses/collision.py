"""Collision prior (SPEC §6): the 3D overlap of model Gaussians that must not interpenetrate."""

import math

import keras
import numpy as np
import tensorflow as tf

from handvol import shapes
from handvol.hand import volume


def overlap_3d(centers_a, sigmas_a, centers_b, sigmas_b, name=None):
  """S3 = (2π·σa²σb²/(σa² + σb²))^{3/2} · exp(−‖μa − μb‖² / 2(σa² + σb²)).

  The integral of the product of two unnormalised isotropic 3D Gaussians (mm³).

  Args:
    centers_a: A tensor of shape `[A1, ..., An, 3]`, centres in mm.
    sigmas_a: A tensor of shape `[A1, ..., An]` (broadcastable), standard deviations in mm.
    centers_b: A tensor of shape `[A1, ..., An, 3]`, centres in mm.
    sigmas_b: A tensor of shape `[A1, ..., An]` (broadcastable), standard deviations in mm.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An]`, in mm³.
  """
  with tf.name_scope(name or "overlap_3d"):
    centers_a = tf.convert_to_tensor(centers_a)
    centers_b = tf.convert_to_tensor(centers_b, dtype=centers_a.dtype)
    for arg_name, tensor in (("centers_a", centers_a), ("centers_b", centers_b)):
      shapes.check_static(tensor, tensor_name=arg_name, has_dim_equals=(-1, 3))
    var_a = tf.square(tf.convert_to_tensor(sigmas_a, dtype=centers_a.dtype))
    var_b = tf.square(tf.convert_to_tensor(sigmas_b, dtype=centers_a.dtype))
    var_sum = var_a + var_b
    squared_distance = tf.reduce_sum(tf.square(centers_a - centers_b), axis=-1)
    amplitude = tf.pow(2.0 * math.pi * var_a * var_b / var_sum, 1.5)
    return amplitude * tf.exp(-squared_distance / (2.0 * var_sum))


def collision_energy(centers, sigmas, pairs, name=None):
  """E_collision = Σ over the listed pairs (j, k) of S3_jk, per example.

  Args:
    centers: A tensor of shape `[B, N_m, 3]`, posed model Gaussian centres in mm.
    sigmas: A tensor of shape `[N_m]`, their standard deviations in mm.
    pairs: An int tensor of shape `[P, 2]`, the index pairs (j < k) that must not overlap.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]`, in mm³.
  """
  with tf.name_scope(name or "collision_energy"):
    centers = tf.convert_to_tensor(centers)
    sigmas = tf.convert_to_tensor(sigmas, dtype=centers.dtype)
    pairs = tf.convert_to_tensor(pairs, dtype=tf.int32)
    shapes.check_static(centers, tensor_name="centers", has_rank=3, has_dim_equals=(-1, 3))
    shapes.check_static(pairs, tensor_name="pairs", has_rank=2, has_dim_equals=(-1, 2))
    first, second = pairs[:, 0], pairs[:, 1]
    overlaps = overlap_3d(tf.gather(centers, first, axis=1), tf.gather(sigmas, first),
                          tf.gather(centers, second, axis=1), tf.gather(sigmas, second))
    return tf.reduce_sum(overlaps, axis=-1)


@keras.saving.register_keras_serializable(package="handvol")
class CollisionLoss(keras.layers.Layer):
  """The collision prior as a layer holding the model's σ_h and collision pairs.

  Args:
    sigmas: Sequence of N_m standard deviations (mm); default `handvol.hand.volume.SIGMAS_MM`.
    pairs: Sequence of P index pairs; default `handvol.hand.volume.COLLISION_PAIRS`.

  Call arguments:
    centers: `[B, N_m, 3]` posed Gaussian centres in mm.

  Returns:
    `[B]` energies in mm³.

  Example:
  >>> layer = CollisionLoss(sigmas=[10.0, 10.0], pairs=[[0, 1]])
  >>> layer(tf.zeros([1, 2, 3]))  # [(2π·50)^1.5] ≈ [5568.3]
  """

  def __init__(self, sigmas=None, pairs=None, **kwargs):
    super().__init__(**kwargs)
    sigmas = volume.SIGMAS_MM if sigmas is None else sigmas
    pairs = volume.COLLISION_PAIRS if pairs is None else pairs
    self.sigmas = [float(x) for x in np.asarray(sigmas).ravel()]
    self.pairs = np.asarray(pairs, dtype=np.int32).reshape(-1, 2).tolist()

  def call(self, centers):
    return collision_energy(centers, self.sigmas, np.asarray(self.pairs, dtype=np.int32))

  def get_config(self):
    config = super().get_config()
    config.update(sigmas=self.sigmas, pairs=self.pairs)
    return config
