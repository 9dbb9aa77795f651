"""Numerical guards shared by the geometry and the losses.

One place for the small constants and the safe versions of division, square root and norm, so
that degenerate inputs (an empty crop, a Gaussian behind the camera, a zero sigma) give finite
values and finite gradients instead of NaN or Inf.
"""

import tensorflow as tf

EPS = 1e-8
"""Smallest magnitude accepted as a denominator (unitless; inputs are in mm or pixels)."""

MIN_DEPTH_MM = 1.0
"""Depths below this (mm) count as behind or at the camera and are clamped before division."""


def safe_divide(numerator, denominator, eps=EPS, name=None):
  """numerator / denominator with |denominator| clamped away from zero (sign kept).

  Args:
    numerator: A tensor.
    denominator: A tensor broadcastable with `numerator`.
    eps: Smallest magnitude used for the denominator.
    name: Optional name scope.

  Returns:
    A tensor of the broadcast shape. Where |denominator| < eps the result is
    numerator / (±eps), finite, with a finite gradient.
  """
  with tf.name_scope(name or "safe_divide"):
    numerator = tf.convert_to_tensor(numerator)
    denominator = tf.convert_to_tensor(denominator, dtype=numerator.dtype)
    sign = tf.where(denominator < 0, -tf.ones_like(denominator), tf.ones_like(denominator))
    safe = tf.where(tf.abs(denominator) < eps, sign * eps, denominator)
    return numerator / safe


def safe_sqrt(x, eps=EPS, name=None):
  """sqrt(max(x, eps)): finite value and gradient at and below zero."""
  with tf.name_scope(name or "safe_sqrt"):
    x = tf.convert_to_tensor(x)
    return tf.sqrt(tf.maximum(x, tf.cast(eps, x.dtype)))


def safe_norm(x, axis=-1, keepdims=False, eps=EPS, name=None):
  """Euclidean norm along `axis` whose gradient is finite (zero) at the zero vector.

  Args:
    x: A tensor of shape `[A1, ..., An, D]`.
    axis: The axis to reduce.
    keepdims: Keep the reduced axis with length 1.
    eps: Squared norms below eps give exactly 0 and a zero gradient.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An]` (or `[A1, ..., An, 1]` with keepdims).
  """
  with tf.name_scope(name or "safe_norm"):
    x = tf.convert_to_tensor(x)
    squared = tf.reduce_sum(tf.square(x), axis=axis, keepdims=keepdims)
    small = squared < eps
    root = tf.sqrt(tf.where(small, tf.ones_like(squared), squared))
    return tf.where(small, tf.zeros_like(squared), root)


def safe_normalize(x, axis=-1, eps=EPS, name=None):
  """x / ‖x‖ along `axis`; the zero vector maps to zero, with finite gradients."""
  with tf.name_scope(name or "safe_normalize"):
    x = tf.convert_to_tensor(x)
    norm = safe_norm(x, axis=axis, keepdims=True, eps=eps)
    return safe_divide(x, norm, eps=eps)
