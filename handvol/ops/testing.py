"""Realistic inputs for the overlap op's tests, benchmark and CUDA harness.

A synthetic depth crop of a hand-like shape (an elliptic palm and five finger capsules on a
randomly tilted plane, background invalid) is cut into image Gaussians by a quadtree-like
tiling (SPEC §4's rule), and model Gaussians are scattered over the hand with the σ_p that a
crop camera gives them. This is test data, not the input pipeline's quadtree.
"""

import numpy as np

CROP_SIZE = 128
"""Side of the synthetic crop in pixels."""
CROP_FOCAL_PX = 213.0
"""Focal length (pixels) under which a 300 mm cube at 500 mm fills a 128-pixel crop."""
HAND_DEPTH_MM = 500.0
SPLIT_DEPTH_RANGE_MM = 20.0
"""A tile splits while its valid depths span at least this much (SPEC §4's c)."""
MODEL_SIGMA_3D_RANGE_MM = (6.0, 12.0)
MODEL_OFFSET_PX = 2.0
MODEL_DEPTH_OFFSET_MM = 5.0

HAND_PARTS = ((64, 80, 26, 22, 0.0),
              (34, 64, 20, 7, -0.9), (50, 32, 24, 6, -0.15), (65, 28, 26, 6, 0.0),
              (80, 32, 24, 6, 0.15), (94, 42, 19, 5, 0.35))
"""Palm and fingers: (centre u, centre v, half length, half width, tilt in radians), pixels."""
HAND_THICKNESS = 0.6
"""A part's surface bulges towards the camera by this fraction of its half width (mm per px)."""


def synthetic_depth_crop(rng, size=CROP_SIZE):
  """A depth crop of a hand-like shape.

  Args:
    rng: A `numpy.random.Generator` (picks the tilt of the plane).
    size: Side of the crop in pixels.

  Returns:
    A float64 array of shape `[size, size]`, depth in mm, 0 where there is no hand.
  """
  v, u = np.mgrid[0:size, 0:size].astype(np.float64)
  depth = np.zeros([size, size])
  bulge = np.zeros([size, size])
  for centre_u, centre_v, half_length, half_width, tilt in HAND_PARTS:
    along = (u - centre_u) * np.sin(tilt) - (v - centre_v) * np.cos(tilt)
    across = (u - centre_u) * np.cos(tilt) + (v - centre_v) * np.sin(tilt)
    radius2 = (across / half_width)**2 + np.maximum(np.abs(along) - half_length + half_width,
                                                    0.0)**2 / half_width**2
    part = radius2 < 1.0
    bulge = np.where(part, np.maximum(bulge, HAND_THICKNESS * half_width *
                                      np.sqrt(np.maximum(1.0 - radius2, 0.0))), bulge)
    depth = np.where(part, 1.0, depth)
  slope_u, slope_v = rng.uniform(-0.8, 0.8, size=2)
  plane = HAND_DEPTH_MM + slope_u * (u - size / 2) + slope_v * (v - size / 2)
  return np.where(depth > 0, plane - bulge, 0.0)


def tile_depth_crop(depth, split_depth_range_mm=SPLIT_DEPTH_RANGE_MM):
  """Image Gaussians of a square depth crop by quadtree-like splitting.

  A tile splits in four while it holds valid and invalid pixels or its valid depths span at
  least `split_depth_range_mm`; an all-valid leaf gives (centre u, centre v, half side, mean
  depth); a leaf without valid pixels is dropped.

  Args:
    depth: An array of shape `[S, S]` (S a power of two), mm, 0 invalid.
    split_depth_range_mm: The split threshold in mm.

  Returns:
    A float64 array of shape `[N, 4]`: (u, v, σ) in pixels, z in mm.
  """
  leaves = []
  tiles = [(0, 0, depth.shape[0])]
  while tiles:
    row, col, side = tiles.pop()
    tile = depth[row:row + side, col:col + side]
    valid = tile > 0
    if not valid.any():
      continue
    if side == 1 or (valid.all() and np.ptp(tile) < split_depth_range_mm):
      leaves.append((col + (side - 1) / 2, row + (side - 1) / 2, side / 2, tile.mean()))
      continue
    half = side // 2
    tiles.extend((row + dr, col + dc, half) for dr in (0, half) for dc in (0, half))
  return np.array(leaves, dtype=np.float64).reshape(-1, 4)


def overlap_inputs(rng, batch, n_i, n_m, dtype=np.float32,
                   split_depth_range_mm=SPLIT_DEPTH_RANGE_MM):
  """A batch of realistic `gaussian_overlap` inputs.

  Each element tiles its own synthetic crop. With more leaves than `n_i` a random subset of
  `n_i` is kept; with fewer the rest is padding (mask 0, zeros).

  Args:
    rng: A `numpy.random.Generator`.
    batch: B.
    n_i: N_i, the padded number of image Gaussians.
    n_m: N_m, the number of model Gaussians.
    dtype: The numpy float dtype of the outputs.
    split_depth_range_mm: The tiling's split threshold (smaller gives more, finer leaves).

  Returns:
    A dict with "image_gaussians" `[B, N_i, 4]`, "image_mask" `[B, N_i]`, "model_gaussians"
    `[B, N_m, 4]` and "model_sigma_3d" `[B, N_m]`.
  """
  image = np.zeros([batch, n_i, 4])
  mask = np.zeros([batch, n_i])
  model = np.zeros([batch, n_m, 4])
  sigma_3d = rng.uniform(*MODEL_SIGMA_3D_RANGE_MM, size=[batch, n_m])
  for b in range(batch):
    depth = synthetic_depth_crop(rng)
    leaves = tile_depth_crop(depth, split_depth_range_mm)
    if len(leaves) > n_i:
      leaves = leaves[rng.choice(len(leaves), n_i, replace=False)]
    image[b, :len(leaves)] = leaves
    mask[b, :len(leaves)] = 1.0
    rows, cols = np.nonzero(depth)
    picks = rng.choice(len(rows), n_m)
    surface = depth[rows[picks], cols[picks]] + rng.uniform(
        -MODEL_DEPTH_OFFSET_MM, MODEL_DEPTH_OFFSET_MM, n_m)
    centre_depth = surface + sigma_3d[b]
    model[b, :, 0] = cols[picks] + rng.uniform(-MODEL_OFFSET_PX, MODEL_OFFSET_PX, n_m)
    model[b, :, 1] = rows[picks] + rng.uniform(-MODEL_OFFSET_PX, MODEL_OFFSET_PX, n_m)
    model[b, :, 2] = sigma_3d[b] * CROP_FOCAL_PX / centre_depth
    model[b, :, 3] = surface
  return {"image_gaussians": image.astype(dtype), "image_mask": mask.astype(dtype),
          "model_gaussians": model.astype(dtype), "model_sigma_3d": sigma_3d.astype(dtype)}
