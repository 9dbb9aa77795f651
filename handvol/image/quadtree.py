"""Quadtree Gaussians of a depth crop (SPEC §4), vectorised over the image and the batch.

The rule: a square region splits into four while it holds both valid and invalid pixels, or
while max − min of its valid depths is ≥ c; a one-pixel region is a leaf. Each leaf whose
pixels are all valid becomes an image Gaussian (u, v, σ, z): the region's centre in pixels
(pixel centres at integers, so a region of side s starting at column j has u = j + (s − 1)/2),
σ = s/2 pixels, z = the mean depth (mm). Leaves without valid pixels are dropped.

Instead of recursing, the tree is built bottom-up over a pyramid: level k holds, per aligned
block of side 2^k, the valid count, the depth sum, min and max. A block is *uniform* when it is
all valid with max − min < c, or all invalid; uniformity is inherited by sub-blocks, so the
recursion's leaves are exactly the uniform blocks whose parent block is not uniform (the root
has no parent). Everything is a fixed number of tensor ops per level, so it runs inside
`tf.data` maps and over whole batches.

Output order and overflow: Gaussians are listed from the largest leaves to the smallest (level
by level, row-major within a level) and padded to `max_gaussians` with mask 0. A crop with more
leaves than fit keeps the largest ones: the dropped Gaussians are single pixels or the smallest
blocks, mostly along the silhouette; `"num_leaves"` reports the count before truncation so
callers can measure how often that happens.
"""

import numpy as np
import tensorflow as tf

from handvol import shapes

THRESHOLD_MM = 20.0
"""The split threshold c on a region's depth range, mm (paper: 20 mm)."""

MAX_GAUSSIANS = 1024
"""Default N_i,max for 128×128 crops, chosen from measured leaf counts (`docs/data.md`)."""


def _block_min(x):
  """Minimum over aligned 2×2 blocks of `[B, S, S, 1]`: `[B, S/2, S/2, 1]`."""
  return -tf.nn.max_pool2d(-x, 2, 2, "VALID")


def _block_max(x):
  return tf.nn.max_pool2d(x, 2, 2, "VALID")


def _block_sum(x):
  # Exact for the valid counts (integers, and ×4 undoes /4 exactly in binary floating point).
  return 4.0 * tf.nn.avg_pool2d(x, 2, 2, "VALID")


def _upsample(x):
  """Repeats each entry of `[B, S, S, 1]` over a 2×2 block: `[B, 2S, 2S, 1]`."""
  batch, side = tf.shape(x)[0], tf.shape(x)[1]
  x = tf.broadcast_to(x[:, :, tf.newaxis, :, :], [batch, side, 2, side, 2])
  return tf.reshape(x, [batch, 2 * side, 2 * side, 1])


def _node_geometry(side):
  """`[T, 3]` (u, v, σ) in pixels of every block of every level, coarse levels first."""
  rows = []
  for k in reversed(range(side.bit_length())):
    block = 2**k
    centres = np.arange(side // block) * block + (block - 1) / 2
    v, u = np.meshgrid(centres, centres, indexing="ij")
    rows.append(np.stack([u.ravel(), v.ravel(), np.full(u.size, block / 2)], axis=-1))
  return tf.constant(np.concatenate(rows), tf.float32)


def quadtree_gaussians(crop_depth, max_gaussians=MAX_GAUSSIANS, threshold_mm=THRESHOLD_MM,
                       name=None):
  """Quadtree image Gaussians of depth crops, padded to a fixed count.

  Args:
    crop_depth: A tensor of shape `[B, S, S]` (or `[S, S]`), depth in mm, 0 = invalid; S a
      power of two.
    max_gaussians: N_i,max, the padded length of the output.
    threshold_mm: The split threshold c in mm.
    name: Optional name scope.

  Returns:
    A dict (without the batch dimension when the input had none):
    - `"gaussians"`: float32 `[B, N_i,max, 4]`, (u, v, σ) in crop pixels and z in mm; zero
      rows where the mask is 0.
    - `"mask"`: float32 `[B, N_i,max]`, 1 for a Gaussian, 0 for padding.
    - `"num_leaves"`: int32 `[B]`, the number of all-valid leaves before truncation to
      `max_gaussians`.
  """
  with tf.name_scope(name or "quadtree_gaussians"):
    crop_depth = tf.convert_to_tensor(crop_depth, tf.float32)
    shapes.check_static(crop_depth, tensor_name="crop_depth", has_rank_greater_than=1,
                        has_rank_less_than=4)
    rank = crop_depth.shape.rank
    if rank is None:
      raise ValueError("crop_depth must have a static rank: [B, S, S] or [S, S]")
    if rank == 2:
      crop_depth = crop_depth[tf.newaxis]
    side = crop_depth.shape[-1]
    if side is None or crop_depth.shape[-2] != side or side & (side - 1):
      raise ValueError(
          f"crop_depth must be square with a static power-of-two side, got {crop_depth.shape}")
    leaves, means = _leaves(crop_depth, side.bit_length(), threshold_mm)
    result = _pack(leaves, means, _node_geometry(side), tf.shape(crop_depth)[0], max_gaussians)
    if rank == 2:
      result = {key: value[0] for key, value in result.items()}
    return result


def _leaves(crop_depth, num_levels, threshold_mm):
  """Per node of every level (0 pixels .. num_levels − 1 the whole crop), coarse levels first
  and row-major within a level: whether it is an all-valid leaf, and its mean depth (mm); both
  `[B, T]`."""
  # Invalid pixels hold 0, so a block's plain min, max and sum are its valid pixels' whenever
  # it is full, the only case in which they matter. Every single pixel is uniform.
  # Pooling ops work on `[B, S, S, 1]` images (and are much faster than reshape-reductions).
  batch = tf.shape(crop_depth)[0]
  depth = crop_depth[..., tf.newaxis]
  count = tf.cast(depth > 0, tf.float32)
  low = high = total = depth
  means, full, uniform = [depth], [count > 0], [None]
  for k in range(1, num_levels):
    count, total = _block_sum(count), _block_sum(total)
    low, high = _block_min(low), _block_max(high)
    area = float(4**k)
    means.append(total / area)
    full.append(count == area)
    uniform.append((count == 0) | (full[-1] & (high - low < threshold_mm)))
  leaves, flat_means = [], []
  for k in reversed(range(num_levels)):
    leaf = full[k] if uniform[k] is None else uniform[k] & full[k]
    if k + 1 < num_levels:
      leaf &= ~_upsample(uniform[k + 1])
    leaves.append(tf.reshape(leaf, [batch, -1]))
    flat_means.append(tf.reshape(means[k], [batch, -1]))
  return tf.concat(leaves, axis=1), tf.concat(flat_means, axis=1)


def _pack(leaves, means, geometry, batch, max_gaussians):
  """The leaves `[B, T]` as padded Gaussians: the dict of `quadtree_gaussians`."""
  # One tf.where finds the Gaussians in crop-major order, and a Gaussian's output slot is its
  # rank among its crop's Gaussians.
  where = tf.where(leaves)  # [K, 2]: crop, node
  crop = where[:, 0]
  per_crop = tf.math.bincount(tf.cast(crop, tf.int32), minlength=batch, maxlength=batch,
                              dtype=tf.int64)
  slot = tf.range(tf.shape(where, out_type=tf.int64)[0]) - tf.gather(
      tf.math.cumsum(per_crop, exclusive=True), crop)
  features = tf.concat([tf.gather(geometry, where[:, 1]),
                        tf.gather_nd(means, where)[:, tf.newaxis]], axis=-1)
  keep = slot < max_gaussians
  indices = tf.boolean_mask(tf.stack([crop, slot], axis=-1), keep)
  shape = tf.stack([tf.cast(batch, tf.int64), max_gaussians])
  gaussians = tf.scatter_nd(indices, tf.boolean_mask(features, keep),
                            tf.concat([shape, [4]], axis=0))
  mask = tf.scatter_nd(indices, tf.ones(tf.shape(indices)[:1]), shape)
  return {
      "gaussians": tf.reshape(gaussians, [batch, max_gaussians, 4]),
      "mask": tf.reshape(mask, [batch, max_gaussians]),
      "num_leaves": tf.cast(per_crop, tf.int32),
  }
