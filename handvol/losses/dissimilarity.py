"""Dissimilarity E_dissim = −S_sim (SPEC §6): how badly the model Gaussians explain the image.

S_sim = Σ_i Σ_p Δ(i, p)·S_ip / Σ_i Σ_k S_ik. The numerator is the fused overlap op
(`handvol.ops.gaussian_overlap`, in `dissimilarity_energy`); the denominator, a property of the
image alone, is `image_self_overlap`, which the input pipeline
(`handvol.training.input_pipeline`) computes once per example.
"""

import keras
import tensorflow as tf

from handvol import numerics
from handvol import ops


def image_self_overlap(gaussians, mask, name=None):
  """The denominator Σ_i Σ_k S_ik per crop, over its Gaussians only, not the padding.

  The quadtree packs each crop's Gaussians first, so crop b's sum runs over its first n_b
  entries (`ops.image_self_overlap` on them); the cost is Σ_b n_b² pair terms instead of
  B·N_i,max² (the padding adds exact zeros).

  Args:
    gaussians: A tensor of shape `[B, N_i,max, 4]` from `quadtree.quadtree_gaussians`.
    mask: A tensor of shape `[B, N_i,max]`, its packed mask.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]`, pixels².
  """
  with tf.name_scope(name or "image_self_overlap"):
    counts = tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)

    def one(inputs):
      crop_gaussians, crop_mask, count = inputs
      return ops.image_self_overlap(crop_gaussians[tf.newaxis, :count],
                                    crop_mask[tf.newaxis, :count])[0]

    return tf.map_fn(one, (gaussians, mask, counts),
                     fn_output_signature=tf.TensorSpec([], gaussians.dtype))


def dissimilarity_energy(image_gaussians, image_mask, model_gaussians, model_sigma_3d,
                         image_self_overlap, name=None):
  """E_dissim = −Σ_i Σ_p mask_i·Δ(i, p)·S_ip / self-overlap, per example.

  An empty crop (all-zero mask, self-overlap 0) gives 0 with a zero gradient: its numerator is
  0 and the denominator is clamped by `numerics.safe_divide`.

  Args:
    image_gaussians: A tensor of shape `[B, N_i, 4]`, (u, v, σ_i, z_i) in crop pixels, pixels
      and mm.
    image_mask: A tensor of shape `[B, N_i]`, 1 for valid image Gaussians, 0 for padding.
    model_gaussians: A tensor of shape `[B, N_m, 4]`, projected model Gaussians
      (u, v, σ_p, z_p) in crop pixels, pixels and mm (`handvol.model.decoder`).
    model_sigma_3d: A tensor of shape `[B, N_m]`, the model Gaussians' σ_h in mm.
    image_self_overlap: A tensor of shape `[B]`, Σ_i Σ_k S_ik over the valid image Gaussians
      (pixels², `image_self_overlap`).
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]`, unitless, in [−1, 0] for a model that covers the image once.
  """
  with tf.name_scope(name or "dissimilarity_energy"):
    overlap = ops.gaussian_overlap(image_gaussians, image_mask, model_gaussians, model_sigma_3d)
    return -numerics.safe_divide(
        overlap, tf.convert_to_tensor(image_self_overlap, dtype=overlap.dtype))


@keras.saving.register_keras_serializable(package="handvol")
class DissimilarityLoss(keras.layers.Layer):
  """The dissimilarity term as a layer; it calls the custom op, so it keeps XLA off.

  Call arguments:
    image_gaussians: `[B, N_i, 4]` (u, v, σ_i px, z_i mm).
    image_mask: `[B, N_i]` validity (1/0).
    model_gaussians: `[B, N_m, 4]` (u, v, σ_p px, z_p mm).
    model_sigma_3d: `[B, N_m]` σ_h in mm.
    image_self_overlap: `[B]` the image's self-overlap.

  Returns:
    `[B]` energies −S_sim.

  Example:
  >>> loss = DissimilarityLoss()
  >>> energy = loss(image_gaussians, image_mask, model_gaussians, sigma_h, self_overlap)
  """

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    # XLA cannot compile the custom op (TF-NOTES: "Keras 3 with a custom op").
    self.supports_jit = False

  def call(self, image_gaussians, image_mask, model_gaussians, model_sigma_3d,
           image_self_overlap):
    return dissimilarity_energy(image_gaussians, image_mask, model_gaussians, model_sigma_3d,
                                image_self_overlap)
