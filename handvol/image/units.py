"""Depth counts to millimetres: the one conversion that `preprocess` and `localize` share."""

import tensorflow as tf


def depth_in_mm(depth, depth_unit_mm=None, name=None):
  """Depth counts → float32 mm; negative counts, and every count of a unit that is not > 0,
  give 0 (no measurement); any batch shape.

  NaN and +Inf pass through (−Inf becomes 0): every step here counts as measured only depths in
  a finite range (their comparisons are false for NaN and Inf), so no pass is spent on them.

  Args:
    depth: A tensor of shape `[A1, ..., An, H, W]`, any real dtype.
    depth_unit_mm: A tensor of shape `[A1, ..., An]`, mm per count; None: `depth` is in mm.
    name: Optional name scope.

  Returns:
    A float32 tensor of shape `[A1, ..., An, H, W]`, mm.
  """
  with tf.name_scope(name or "depth_in_mm"):
    depth = tf.cast(depth, tf.float32)
    if depth_unit_mm is not None:
      unit = tf.cast(depth_unit_mm, tf.float32)
      unit = tf.where(unit > 0, unit, tf.zeros_like(unit))
      depth = depth * unit[..., tf.newaxis, tf.newaxis]
    return tf.maximum(depth, 0.0)
