"""Pure-TensorFlow overlap sums: the test oracle and the fallback of the compiled op.

Both functions broadcast every pair of Gaussians, so they hold `[B, N_i, N_m]` (or
`[B, N_i, N_i]`) tensors; the compiled `Handvol>GaussianOverlap` computes the same sum with
memory O(B·(N_i + N_m)). Gaussians are unnormalised, g(x) = exp(−‖x − μ‖² / 2σ²), and the 2D
overlap of two of them is (SPEC §6)

  S_ip = 2π·σ_i²σ_p² / (σ_i² + σ_p²) · exp(−‖μ_i − μ_p‖² / 2(σ_i² + σ_p²)).

Denominators go through `numerics.safe_divide`, so zero sigmas (padding) give finite values and
gradients.

Values that are not finite follow one rule on both paths (`guard_overlap_inputs`): a padded image
row (mask 0) is ignored whatever it holds; a NaN or ±Inf in a valid image row, in the mask, in
any model Gaussian or σ_h makes that batch element's sum NaN (the other elements are untouched)
with a zero gradient, so a NaN loss shows where it came from instead of a finite sum that
silently left the bad pairs out.
"""

import math

import tensorflow as tf

from handvol import numerics
from handvol import shapes

GAUSSIAN_FIELDS = ("u", "v", "sigma", "z")
"""The last axis of image and model Gaussians: centre u, v (pixels), σ (pixels), z (mm)."""


def check_overlap_inputs(image_gaussians, image_mask, model_gaussians, model_sigma_3d):
  """Converts the four overlap inputs to one float dtype and checks their static shapes.

  Returns:
    The tuple (image_gaussians, image_mask, model_gaussians, model_sigma_3d) as tensors of the
    dtype of `model_gaussians` (float32 unless given float64).

  Raises:
    ValueError: when a rank, the Gaussian size 4, N_i, N_m or B disagree.
  """
  model_gaussians = tf.convert_to_tensor(model_gaussians)
  if not model_gaussians.dtype.is_floating:
    model_gaussians = tf.cast(model_gaussians, tf.float32)
  dtype = model_gaussians.dtype
  image_gaussians = tf.convert_to_tensor(image_gaussians, dtype=dtype)
  image_mask = tf.cast(tf.convert_to_tensor(image_mask), dtype)
  model_sigma_3d = tf.convert_to_tensor(model_sigma_3d, dtype=dtype)
  for tensor, rank, arg_name in ((image_gaussians, 3, "image_gaussians"),
                                 (image_mask, 2, "image_mask"),
                                 (model_gaussians, 3, "model_gaussians"),
                                 (model_sigma_3d, 2, "model_sigma_3d")):
    shapes.check_static(tensor, tensor_name=arg_name, has_rank=rank)
  for tensor, arg_name in ((image_gaussians, "image_gaussians"),
                           (model_gaussians, "model_gaussians")):
    shapes.check_static(tensor, tensor_name=arg_name, has_dim_equals=(-1, len(GAUSSIAN_FIELDS)))
  _check_same_dim(image_gaussians, "image_gaussians", image_mask, "image_mask", 1)
  _check_same_dim(model_gaussians, "model_gaussians", model_sigma_3d, "model_sigma_3d", 1)
  for tensor, arg_name in ((image_mask, "image_mask"), (model_gaussians, "model_gaussians"),
                           (model_sigma_3d, "model_sigma_3d")):
    _check_same_dim(image_gaussians, "image_gaussians", tensor, arg_name, 0)
  return image_gaussians, image_mask, model_gaussians, model_sigma_3d


def _nonfinite_rows(image_gaussians, image_mask):
  """`[B]`: a valid row (mask ≠ 0) of the image holds a non-finite value, or the mask does."""
  finite_rows = tf.reduce_all(tf.math.is_finite(image_gaussians), axis=-1)
  bad_rows = tf.logical_or(tf.logical_and(image_mask != 0, tf.logical_not(finite_rows)),
                           tf.logical_not(tf.math.is_finite(image_mask)))
  return tf.reduce_any(bad_rows, axis=-1)


def _finite_or_zero(tensor):
  return tf.where(tf.math.is_finite(tensor), tensor, tf.zeros_like(tensor))


def guard_overlap_inputs(image_gaussians, image_mask, model_gaussians, model_sigma_3d):
  """The non-finite rule (module docstring) of the overlap, before either path computes it.

  Args: the four checked inputs of `gaussian_overlap_reference` (`check_overlap_inputs`).

  Returns:
    (image_gaussians, image_mask, model_gaussians, model_sigma_3d, bad): the inputs with every
    non-finite entry replaced by 0 (finite entries unchanged), and `bad` `[B]` bool, the
    elements whose sum must be NaN (`nan_where`).
  """
  bad = tf.logical_or(
      _nonfinite_rows(image_gaussians, image_mask),
      tf.logical_or(
          tf.reduce_any(tf.logical_not(tf.math.is_finite(model_gaussians)), axis=[1, 2]),
          tf.reduce_any(tf.logical_not(tf.math.is_finite(model_sigma_3d)), axis=1)))
  return (_finite_or_zero(image_gaussians), _finite_or_zero(image_mask),
          _finite_or_zero(model_gaussians), _finite_or_zero(model_sigma_3d), bad)


def guard_image_inputs(image_gaussians, image_mask):
  """`guard_overlap_inputs` for the image self-overlap: (image_gaussians, image_mask, bad)."""
  return (_finite_or_zero(image_gaussians), _finite_or_zero(image_mask),
          _nonfinite_rows(image_gaussians, image_mask))


def nan_where(bad, sums):
  """`sums` `[B]` with NaN where `bad` `[B]` (whose gradient is then zero)."""
  return tf.where(bad, tf.fill(tf.shape(sums), tf.constant(math.nan, sums.dtype)), sums)


def check_image_inputs(image_gaussians, image_mask):
  """Converts image Gaussians `[B, N_i, 4]` and mask `[B, N_i]` to one float dtype, checked.

  Returns:
    The pair (image_gaussians, image_mask), float32 unless `image_gaussians` is float64.

  Raises:
    ValueError: when a rank, the Gaussian size 4, N_i or B disagree.
  """
  image_gaussians = tf.convert_to_tensor(image_gaussians)
  if not image_gaussians.dtype.is_floating:
    image_gaussians = tf.cast(image_gaussians, tf.float32)
  image_mask = tf.cast(tf.convert_to_tensor(image_mask), image_gaussians.dtype)
  shapes.check_static(image_gaussians, tensor_name="image_gaussians", has_rank=3,
                      has_dim_equals=(-1, len(GAUSSIAN_FIELDS)))
  shapes.check_static(image_mask, tensor_name="image_mask", has_rank=2)
  for axis in (0, 1):
    _check_same_dim(image_gaussians, "image_gaussians", image_mask, "image_mask", axis)
  return image_gaussians, image_mask


def _check_same_dim(a, a_name, b, b_name, axis):
  a_dim, b_dim = a.shape[axis], b.shape[axis]
  if a_dim is not None and b_dim is not None and a_dim != b_dim:
    raise ValueError(f"{a_name} and {b_name} must agree in axis {axis}, got shapes {a.shape} "
                     f"and {b.shape}")


def overlap_2d(delta_u, delta_v, variance_a, variance_b):
  """The 2D overlap S of two unnormalised Gaussians from their offset and variances.

  Args:
    delta_u: A tensor of shape `[A1, ..., An]`, difference of the centres' u (pixels).
    delta_v: A tensor of shape `[A1, ..., An]`, difference of the centres' v (pixels).
    variance_a: A tensor of shape `[A1, ..., An]`, σ_a² (pixels²).
    variance_b: A tensor of shape `[A1, ..., An]`, σ_b² (pixels²).

  Returns:
    A tensor of shape `[A1, ..., An]`, S in pixels².
  """
  variance = variance_a + variance_b
  amplitude = numerics.safe_divide(2.0 * math.pi * variance_a * variance_b, variance)
  exponent = numerics.safe_divide(delta_u**2 + delta_v**2, 2.0 * variance)
  return amplitude * tf.exp(-exponent)


def gaussian_overlap_reference(image_gaussians, image_mask, model_gaussians, model_sigma_3d,
                               name=None):
  """Σ_i Σ_p mask_i·Δ(i, p)·S_ip per batch element, by broadcasting all pairs (SPEC §6).

  Δ(i, p) = max(0, 1 − |z_i − z_p| / 2σ_h) weighs a pair by how close it is in depth. At the
  kinks (Δ = 0, z_i = z_p) the gradient is the one of `tf.nn.relu` and `tf.abs`: zero.

  Args:
    image_gaussians: A tensor of shape `[B, N_i, 4]`: (u, v, σ_i) in crop pixels, z_i in mm.
    image_mask: A tensor of shape `[B, N_i]`: 1 for a valid image Gaussian, 0 for padding
      (other values act as weights).
    model_gaussians: A tensor of shape `[B, N_m, 4]`: projected model Gaussians (u, v, σ_p) in
      crop pixels, z_p (the camera-facing surface depth) in mm.
    model_sigma_3d: A tensor of shape `[B, N_m]`: σ_h, the 3D standard deviation in mm.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]` in pixels² (NaN for an element with a non-finite input: module
    docstring).
  """
  with tf.name_scope(name or "gaussian_overlap_reference"):
    image, mask, model, sigma_h, bad = guard_overlap_inputs(*check_overlap_inputs(
        image_gaussians, image_mask, model_gaussians, model_sigma_3d))
    u_i, v_i, sigma_i, z_i = (x[:, :, None] for x in tf.unstack(image, num=4, axis=-1))
    u_p, v_p, sigma_p, z_p = (x[:, None, :] for x in tf.unstack(model, num=4, axis=-1))
    overlap = overlap_2d(u_i - u_p, v_i - v_p, sigma_i**2, sigma_p**2)
    depth_weight = tf.nn.relu(
        1.0 - numerics.safe_divide(tf.abs(z_i - z_p), 2.0 * sigma_h[:, None, :]))
    return nan_where(bad, tf.reduce_sum(mask[:, :, None] * depth_weight * overlap, axis=[1, 2]))


def image_self_overlap_reference(image_gaussians, image_mask, name=None):
  """Σ_i Σ_k S_ik over all pairs of valid image Gaussians: the denominator of S_sim.

  Both orders of a pair and i = k count (the diagonal gives π·σ_i² each). The sum depends on
  the image alone, so the input pipeline computes it once per crop. This twin of the compiled
  `Handvol>ImageSelfOverlap` broadcasts `[B, N_i, N_i]`: 4·N_i² bytes per float32 temporary
  and image (4 MB at N_i = 1024).

  Args:
    image_gaussians: A tensor of shape `[B, N_i, 4]`: (u, v, σ_i) in pixels, z_i in mm (unused).
    image_mask: A tensor of shape `[B, N_i]`: 1 valid, 0 padding (other values act as weights).
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]` in pixels² (NaN for an element with a non-finite input: module
    docstring).
  """
  with tf.name_scope(name or "image_self_overlap_reference"):
    image_gaussians, image_mask, bad = guard_image_inputs(
        *check_image_inputs(image_gaussians, image_mask))
    u, v, sigma, _ = tf.unstack(image_gaussians, num=4, axis=-1)
    variance = sigma**2
    overlap = overlap_2d(u[:, :, None] - u[:, None, :], v[:, :, None] - v[:, None, :],
                         variance[:, :, None], variance[:, None, :])
    weights = image_mask[:, :, None] * image_mask[:, None, :]
    return nan_where(bad, tf.reduce_sum(weights * overlap, axis=[1, 2]))
