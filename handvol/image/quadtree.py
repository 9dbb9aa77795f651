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

import tensorflow as tf

THRESHOLD_MM = 20.0
"""The split threshold c on a region's depth range, mm (paper: 20 mm)."""

MAX_GAUSSIANS = 1024
"""Default N_i,max for 128×128 crops, chosen from measured leaf counts (`docs/data.md`)."""


def _pyramid_level(count, total, low, high):
  def pool(x, reduce):
    batch, side = tf.shape(x)[0], tf.shape(x)[1]
    return reduce(tf.reshape(x, [batch, side // 2, 2, side // 2, 2]), axis=[2, 4])

  return (pool(count, tf.reduce_sum), pool(total, tf.reduce_sum), pool(low, tf.reduce_min),
          pool(high, tf.reduce_max))


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
    rank = crop_depth.shape.rank
    if rank not in (2, 3):
      raise ValueError(f"crop_depth must have shape [B, S, S] or [S, S], got {crop_depth.shape}")
    if rank == 2:
      crop_depth = crop_depth[tf.newaxis]
    side = crop_depth.shape[-1]
    if side is None or crop_depth.shape[-2] != side or side & (side - 1):
      raise ValueError(
          f"crop_depth must be square with a static power-of-two side, got {crop_depth.shape}")
    num_levels = side.bit_length()  # levels 0 (pixels) .. log2(side) (the whole crop)
    batch = tf.shape(crop_depth)[0]

    valid = crop_depth > 0
    level = (tf.cast(valid, tf.float32), tf.where(valid, crop_depth, 0.0),
             tf.where(valid, crop_depth, float("inf")),
             tf.where(valid, crop_depth, -float("inf")))
    levels = [level]
    for _ in range(num_levels - 1):
      level = _pyramid_level(*level)
      levels.append(level)

    uniform = []
    for k, (count, _, low, high) in enumerate(levels):
      area = float(4**k)
      uniform.append((count == 0) | ((count == area) & (high - low < threshold_mm)))

    features, is_gaussian = [], []
    for k in reversed(range(num_levels)):
      count, total, _, _ = levels[k]
      if k + 1 < num_levels:
        parent = tf.repeat(tf.repeat(uniform[k + 1], 2, axis=1), 2, axis=2)
        leaf = uniform[k] & ~parent
      else:
        leaf = uniform[k]
      block = 2**k
      blocks = side // block
      centres = tf.range(blocks, dtype=tf.float32) * block + (block - 1) / 2
      v, u = tf.meshgrid(centres, centres, indexing="ij")
      mean = total / float(block * block)
      level_features = tf.stack([
          tf.broadcast_to(u, tf.shape(mean)), tf.broadcast_to(v, tf.shape(mean)),
          tf.fill(tf.shape(mean), block / 2), mean], axis=-1)
      features.append(tf.reshape(level_features, [batch, blocks * blocks, 4]))
      is_gaussian.append(tf.reshape(leaf & (count > 0), [batch, blocks * blocks]))
    features = tf.concat(features, axis=1)
    is_gaussian = tf.cast(tf.concat(is_gaussian, axis=1), tf.int32)

    # Slot of each Gaussian in the output; the ones past max_gaussians and the non-Gaussians go
    # to one discarded segment.
    slot = tf.math.cumsum(is_gaussian, axis=1, exclusive=True)
    keep = (is_gaussian > 0) & (slot < max_gaussians)
    discard = batch * max_gaussians
    rows = tf.range(batch)[:, tf.newaxis] * max_gaussians
    segment = tf.where(keep, rows + slot, discard)
    flat_segment = tf.reshape(segment, [-1])
    gaussians = tf.math.unsorted_segment_sum(tf.reshape(features, [-1, 4]), flat_segment,
                                             discard + 1)[:discard]
    mask = tf.math.unsorted_segment_sum(tf.reshape(tf.cast(keep, tf.float32), [-1]),
                                        flat_segment, discard + 1)[:discard]
    result = {
        "gaussians": tf.reshape(gaussians, [batch, max_gaussians, 4]),
        "mask": tf.reshape(mask, [batch, max_gaussians]),
        "num_leaves": tf.reduce_sum(is_gaussian, axis=1),
    }
    if rank == 2:
      result = {key: value[0] for key, value in result.items()}
    return result
