"""Preprocessing: reference point, cube crop, crop intrinsics, labels in the crop."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.data import records
from handvol.geometry import camera
from handvol.image import preprocess


def as_tensors(record):
  return {key: tf.constant(value) for key, value in record.items()}


def test_crop_intrinsics_project_labels_onto_their_crop_pixels(scene_record):
  record = scene_record(seed=1)
  example = preprocess.preprocess(as_tensors(record))
  projected = camera.project(record["xyz"], example["crop_intrinsics"]).numpy()
  np.testing.assert_allclose(projected, example["uv"].numpy(), atol=0.01)
  # The crop camera has square pixels, so in-plane rotation is a rotation about the axis.
  fx, fy = example["crop_intrinsics"].numpy()[:2]
  assert abs(fx - fy) < 1e-3 * fx


def test_crop_samples_the_nearest_original_pixel(scene_record):
  record = scene_record(seed=2)
  tensors = as_tensors(record)
  center, _ = preprocess.reference_point(tensors)
  window = preprocess.crop_window(center, record["intrinsics"]).numpy()
  crop = preprocess.resample_window(record["depth"], window, 128).numpy()
  steps = (np.arange(128) + 0.5) / 128
  columns = np.floor(window[0] + steps * (window[2] - window[0]) + 0.5).astype(int)
  rows = np.floor(window[1] + steps * (window[3] - window[1]) + 0.5).astype(int)
  height, width = record["depth"].shape
  for i in range(0, 128, 7):
    for j in range(0, 128, 5):
      inside = 0 <= rows[i] < height and 0 <= columns[j] < width
      want = record["depth"][rows[i], columns[j]] if inside else 0.0
      assert crop[i, j] == want


def test_depth_under_each_label_is_its_depth(scene_record):
  record = scene_record(seed=3)
  example = preprocess.preprocess(as_tensors(record))
  uv = np.floor(example["uv"].numpy() + 0.5).astype(int)
  crop = example["crop_depth"].numpy()
  sampled = crop[uv[:, 1], uv[:, 0]]
  # The tilted plane changes by < 0.3 mm per mm; nearest sampling is off by < 2 mm sideways.
  np.testing.assert_allclose(sampled, record["xyz"][:, 2], atol=1.0)


def test_input_is_normalised_and_invalid_outside_the_cube(scene_record):
  record = scene_record(seed=4)
  record["depth"] = record["depth"] + np.where(np.arange(320) < 160, 0.0, 400.0)[None] * (
      record["depth"] > 0)
  example = preprocess.preprocess(as_tensors(record))
  crop = example["crop_depth"].numpy()
  center_depth = example["center_xyz"].numpy()[2]
  valid = crop > 0
  assert valid.any() and not valid.all()
  assert np.all(np.abs(crop[valid] - center_depth) <= 150.0)
  net = example["depth_input"].numpy()[..., 0]
  np.testing.assert_allclose(net[valid], (crop[valid] - center_depth) / 150.0, atol=1e-6)
  assert np.all(net[~valid] == 1.0)


def test_reference_from_labels_is_their_mean_pixel_at_the_mean_depth(scene_record):
  record = scene_record(seed=5)
  center, source = preprocess.reference_point(as_tensors(record))
  assert int(source) == preprocess.CENTER_SOURCES.index("labels")
  np.testing.assert_allclose(center.numpy()[:2], record["uv"].mean(axis=0), atol=1e-3)
  # Re-centred to the mean depth in the cube: the disc's mean depth, near the labels' mean.
  assert abs(center.numpy()[2] - record["xyz"][:, 2].mean()) < 15.0


def test_reference_from_2d_labels_takes_the_depth_from_the_image(scene_record):
  record = scene_record(seed=6)
  only_2d = records.make_record(record["depth"], record["intrinsics"], "capture",
                                uv=record["uv"])
  center, source = preprocess.reference_point(as_tensors(only_2d))
  assert int(source) == 0
  assert abs(center.numpy()[2] - record["xyz"][:, 2].mean()) < 15.0


def test_reference_from_centre_file_then_depth_only(scene_record):
  record = scene_record(seed=7)
  unlabelled = records.make_record(record["depth"], record["intrinsics"], "nyu",
                                   center_uvd=(150.0, 100.0, 480.0))
  center, source = preprocess.reference_point(as_tensors(unlabelled))
  assert int(source) == preprocess.CENTER_SOURCES.index("centre_file")
  np.testing.assert_allclose(center.numpy(), (150.0, 100.0, 480.0))

  depth = record["depth"].copy()
  depth[5, 5] = 200.0  # a flying pixel nearer than the hand must not capture the centre
  depth[200:240, 0:320] = 1500.0  # a far background
  bare = records.make_record(depth, record["intrinsics"], "nyu")
  center, source = preprocess.reference_point(as_tensors(bare))
  assert int(source) == preprocess.CENTER_SOURCES.index("depth_only")
  disc = record["depth"] > 0
  v, u = np.nonzero(disc)
  np.testing.assert_allclose(center.numpy(), (u.mean(), v.mean(), record["depth"][disc].mean()),
                             atol=1.0)


def test_a_preferred_centre_comes_before_the_labels(scene_record):
  record = scene_record(seed=3)
  record["center_uvd"] = np.array([150.0, 100.0, 480.0], np.float32)
  record["has_center"] = np.float32(1.0)
  from_labels, source = preprocess.reference_point(as_tensors(record))
  assert int(source) == preprocess.CENTER_SOURCES.index("labels")
  assert np.abs(from_labels.numpy() - record["center_uvd"]).max() > 5.0
  center, source = preprocess.reference_point(as_tensors(record), prefer_centre=True)
  assert int(source) == preprocess.CENTER_SOURCES.index("centre_file")
  np.testing.assert_allclose(center.numpy(), record["center_uvd"])
  # Without a centre, preferring one changes nothing.
  record["has_center"] = np.float32(0.0)
  center, source = preprocess.reference_point(as_tensors(record), prefer_centre=True)
  assert int(source) == preprocess.CENTER_SOURCES.index("labels")
  np.testing.assert_allclose(center.numpy(), from_labels.numpy())


def test_empty_frame_gives_finite_example():
  record = records.make_record(np.zeros((48, 64)), (60.0, 60.0, 32.0, 24.0), "capture")
  example = preprocess.preprocess(as_tensors(record))
  for key, value in example.items():
    assert np.all(np.isfinite(value.numpy())), key
  assert not example["crop_depth"].numpy().any()


def test_resample_window_rejects_a_batch():
  with pytest.raises(ValueError, match="depth must have rank 2"):
    preprocess.resample_window(tf.zeros([2, 8, 8]), [0.0, 0.0, 8.0, 8.0], 4)


def test_batched_functions_equal_the_per_frame_ones(scene_record):
  frames = [scene_record(seed=seed) for seed in (8, 9, 10)]
  frames[1]["depth"][100:140, 0:320] = 650.0  # a wall behind the disc
  depth = np.stack([record["depth"] for record in frames]).astype(np.float32)
  intrinsics = np.stack([record["intrinsics"] for record in frames]).astype(np.float32)
  centers = preprocess.centers_from_depth(depth, intrinsics).numpy()
  windows = preprocess.crop_window(centers, intrinsics).numpy()
  crops = preprocess.resample_windows(depth, windows, 128).numpy()
  examples = preprocess.crop_frames(depth, centers, intrinsics)
  for index, record in enumerate(frames):
    np.testing.assert_array_equal(
        centers[index], preprocess.center_from_depth(depth[index], intrinsics[index]).numpy())
    np.testing.assert_array_equal(
        crops[index], preprocess.resample_window(depth[index], windows[index], 128).numpy())
    bare = records.make_record(record["depth"], record["intrinsics"], "nyu")
    example = preprocess.preprocess(as_tensors(bare))
    assert int(example["center_source"]) == preprocess.CENTER_SOURCES.index("depth_only")
    for key in ("depth_input", "crop_depth", "crop_intrinsics", "center_xyz"):
      np.testing.assert_allclose(examples[key][index], example[key], atol=1e-4, err_msg=key)


def test_depth_only_centre_in_counts_of_a_unit(scene_record):
  depth = scene_record(seed=11)["depth"]
  intrinsics = np.asarray(scene_record(seed=11)["intrinsics"], np.float32)
  counts = np.round(depth * 8.0)  # 1/8 mm
  in_mm = preprocess.centers_from_depth(counts[None] / 8.0, intrinsics[None])
  for dtype in (np.float32, np.uint16):
    in_counts = preprocess.centers_from_depth(counts[None].astype(dtype), intrinsics[None],
                                              depth_unit_mm=[0.125])
    np.testing.assert_allclose(in_counts, in_mm, atol=1e-3)
  # A unit that is not positive leaves no measurement: the image centre, as for no depth.
  no_unit = preprocess.centers_from_depth(counts[None], intrinsics[None], depth_unit_mm=[0.0])
  np.testing.assert_allclose(no_unit[0], (159.5, 119.5, 1.0))


def test_depth_only_centre_ignores_nan_inf_and_negative_pixels(scene_record):
  record = scene_record(seed=12)
  depth = record["depth"].astype(np.float32)
  clean = preprocess.center_from_depth(depth, record["intrinsics"]).numpy()
  dirty = depth.copy()
  off_disc = np.flatnonzero(dirty == 0)
  rng = np.random.default_rng(0)
  for value in (np.nan, np.inf, -np.inf, -300.0):
    dirty.flat[rng.choice(off_disc, 500, replace=False)] = value
  np.testing.assert_array_equal(preprocess.center_from_depth(dirty, record["intrinsics"]), clean)


def test_depth_only_centre_of_frames_without_a_full_block():
  intrinsics = np.array([[12.0, 12.0, 3.5, 3.5]], np.float32)
  empty = preprocess.centers_from_depth(np.zeros([1, 8, 8], np.float32), intrinsics).numpy()
  np.testing.assert_array_equal(empty[0], (3.5, 3.5, 1.0))
  # A 4×4 object that straddles the blocks: no block is fully valid, its sampled pixel is.
  depth = np.zeros([1, 8, 8], np.float32)
  depth[0, 2:6, 2:6] = np.arange(590.0, 606.0).reshape(4, 4)
  center = preprocess.centers_from_depth(depth, intrinsics).numpy()
  np.testing.assert_allclose(center[0], (3.5, 3.5, 597.5), atol=1e-4)


def test_resample_windows_rejects_a_single_frame():
  with pytest.raises(ValueError, match="depth must have rank 3"):
    preprocess.resample_windows(tf.zeros([8, 8]), [[0.0, 0.0, 8.0, 8.0]], 4)


def test_depth_only_centre_traces_with_unknown_shapes(scene_record):
  record = scene_record(seed=13)
  traced = tf.function(preprocess.center_from_depth,
                       input_signature=[tf.TensorSpec(None, tf.float32)] * 2)
  np.testing.assert_array_equal(
      traced(record["depth"].astype(np.float32), np.float32(record["intrinsics"])),
      preprocess.center_from_depth(record["depth"], record["intrinsics"]))
