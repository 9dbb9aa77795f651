"""Quadtree Gaussians against a plain recursive implementation, and their invariants."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.image import preprocess
from handvol.image import quadtree

THRESHOLD = 20.0


def recursive_leaves(depth, row=0, column=0, side=None, out=None):
  """SPEC §4 by recursion: (u, v, σ, z) of every all-valid leaf."""
  side = depth.shape[0] if side is None else side
  out = [] if out is None else out
  block = depth[row:row + side, column:column + side]
  valid = block > 0
  mixed = valid.any() and not valid.all()
  too_deep = valid.all() and block.max() - block.min() >= THRESHOLD
  if side > 1 and (mixed or too_deep):
    half = side // 2
    for d_row in (0, half):
      for d_column in (0, half):
        recursive_leaves(depth, row + d_row, column + d_column, half, out)
  elif valid.all():
    out.append((column + (side - 1) / 2, row + (side - 1) / 2, side / 2, block.mean()))
  return out


def as_sorted(gaussians):
  gaussians = np.asarray(gaussians, np.float64).reshape(-1, 4)
  return gaussians[np.lexsort(gaussians.T[::-1])]


def random_crops(seed, batch=6, side=64):
  rng = np.random.default_rng(seed)
  crops = []
  for index in range(batch):
    # Piecewise smooth depth with holes: smooth ramps, steps, noise, and invalid blobs.
    v, u = np.mgrid[0:side, 0:side].astype(np.float64)
    depth = 450 + rng.uniform(-1, 1) * u + rng.uniform(-1, 1) * v
    depth += 40 * (u > rng.uniform(0, side)) + rng.normal(0, 2 + 3 * index, (side, side))
    holes = (u - rng.uniform(0, side))**2 + (v - rng.uniform(0, side))**2 < rng.uniform(
        0, side)**2
    depth[holes | (rng.uniform(size=(side, side)) < 0.05 * index)] = 0
    crops.append(depth)
  return np.stack(crops).astype(np.float32)


def scene_crops(scene_record):
  crops = [preprocess.preprocess(scene_record(seed=seed))["crop_depth"].numpy()
           for seed in range(3)]
  return np.stack(crops)


@pytest.mark.parametrize("source", ["random", "scene"])
def test_equals_recursive_reference(source, scene_record):
  crops = random_crops(0) if source == "random" else scene_crops(scene_record)
  side = crops.shape[-1]
  result = quadtree.quadtree_gaussians(crops, max_gaussians=side * side)
  for crop, gaussians, mask, count in zip(crops, result["gaussians"].numpy(),
                                          result["mask"].numpy(), result["num_leaves"].numpy()):
    want = as_sorted(recursive_leaves(crop.astype(np.float64)))
    got = as_sorted(gaussians[mask > 0])
    assert got.shape == want.shape and count == len(want)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-3)
    assert not gaussians[mask == 0].any()


def test_leaf_areas_add_up_and_each_leaf_is_flat_and_valid():
  crops = random_crops(1)
  side = crops.shape[-1]
  result = quadtree.quadtree_gaussians(crops, max_gaussians=side * side)
  for crop, gaussians, mask in zip(crops, result["gaussians"].numpy(), result["mask"].numpy()):
    kept = gaussians[mask > 0]
    assert np.sum((2 * kept[:, 2])**2) == np.count_nonzero(crop)
    for u, v, sigma, z in kept:
      low_u, low_v, width = int(u - sigma + 0.5), int(v - sigma + 0.5), int(2 * sigma)
      region = crop[low_v:low_v + width, low_u:low_u + width]
      assert np.all(region > 0)
      assert region.max() - region.min() < THRESHOLD
      assert abs(region.mean() - z) < 1e-3


def test_overflow_keeps_the_largest_leaves_and_reports_the_count():
  crops = random_crops(2, batch=3)[1:]  # the first crop is too smooth to overflow
  full = quadtree.quadtree_gaussians(crops, max_gaussians=64 * 64)
  cut = quadtree.quadtree_gaussians(crops, max_gaussians=50)
  assert np.all(full["num_leaves"].numpy() > 50)
  np.testing.assert_array_equal(cut["num_leaves"].numpy(), full["num_leaves"].numpy())
  assert np.all(cut["mask"].numpy() == 1)
  for b in range(2):
    sigmas = full["gaussians"].numpy()[b, full["mask"].numpy()[b] > 0, 2]
    kept = cut["gaussians"].numpy()[b, :, 2]
    assert kept.min() >= np.sort(sigmas)[::-1][49]
    np.testing.assert_allclose(cut["gaussians"].numpy()[b], full["gaussians"].numpy()[b, :50])


def test_empty_and_unbatched_crops():
  empty = quadtree.quadtree_gaussians(np.zeros((16, 16), np.float32), max_gaussians=8)
  assert empty["gaussians"].shape == (8, 4) and not empty["mask"].numpy().any()
  flat = quadtree.quadtree_gaussians(np.full((16, 16), 500.0, np.float32), max_gaussians=8)
  np.testing.assert_allclose(flat["gaussians"].numpy()[0], (7.5, 7.5, 8.0, 500.0))
  assert flat["mask"].numpy().sum() == 1


def test_runs_inside_tf_data_with_an_unknown_batch():
  crops = random_crops(3, batch=4, side=32)
  dataset = tf.data.Dataset.from_tensor_slices(crops).batch(3).map(
      lambda crop: quadtree.quadtree_gaussians(crop, max_gaussians=32 * 32))
  counts = np.concatenate([batch["num_leaves"].numpy() for batch in dataset])
  np.testing.assert_array_equal(
      counts, [len(recursive_leaves(crop.astype(np.float64))) for crop in crops])


@pytest.mark.parametrize("shape", [(2, 16, 8), (2, 12, 12), (16,)])
def test_shape_errors(shape):
  with pytest.raises(ValueError, match="crop_depth must"):
    quadtree.quadtree_gaussians(tf.zeros(shape))
