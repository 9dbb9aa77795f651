"""Augmentation: image, labels and intrinsics stay consistent."""

import math

import numpy as np
import tensorflow as tf

from handvol.geometry import camera
from handvol.image import augment
from handvol.image import preprocess


def batch_of(scene_record, seeds):
  examples = [preprocess.preprocess(scene_record(seed=seed)) for seed in seeds]
  return {key: tf.stack([example[key] for example in examples]) for key in examples[0]}


def parameters(angle=0.0, scale=1.0, shift_u=0.0, shift_v=0.0, depth_offset=0.0, batch=1):
  values = {"angle": angle, "scale": scale, "shift_u": shift_u, "shift_v": shift_v,
            "depth_offset": depth_offset}
  return {key: tf.fill([batch], float(value)) for key, value in values.items()}


def test_identity_changes_nothing(scene_record):
  batch = batch_of(scene_record, [0])
  out = augment.apply(batch, parameters())
  for key in batch:
    np.testing.assert_allclose(out[key].numpy(), batch[key].numpy(), atol=1e-4, err_msg=key)


def test_quarter_turn_rotates_the_pixels(scene_record):
  batch = batch_of(scene_record, [1])
  out = augment.apply(batch, parameters(angle=math.pi / 2))
  # uv' = R(90°)(uv − c) + c maps (u, v) to (2c − v, u): a transpose then a left-right flip.
  want = np.flip(batch["crop_depth"].numpy()[0].T, axis=1)
  np.testing.assert_array_equal(out["crop_depth"].numpy()[0], want)


def test_labels_follow_the_image(scene_record):
  batch = batch_of(scene_record, range(4))
  out = augment.augment(batch, tf.constant([7, 3]), augment.AugmentConfig())
  intrinsics = out["crop_intrinsics"].numpy()[:, None]
  projected = camera.project(out["xyz"], intrinsics).numpy()
  np.testing.assert_allclose(projected, out["uv"].numpy(), atol=0.01)
  # Keypoints lie on the surface: the depth under each projected keypoint is its depth.
  for crop, uv, xyz in zip(out["crop_depth"].numpy(), out["uv"].numpy(), out["xyz"].numpy()):
    pixel = np.floor(uv + 0.5).astype(int)
    inside = np.all((pixel >= 0) & (pixel < crop.shape[0]), axis=-1)
    assert inside.sum() >= 15
    sampled = crop[pixel[inside, 1], pixel[inside, 0]]
    np.testing.assert_allclose(sampled, xyz[inside, 2], atol=1.5)
  # The rotation is rigid: distances between keypoints are kept.
  before = np.linalg.norm(batch["xyz"].numpy()[:, :, None] - batch["xyz"].numpy()[:, None], axis=-1)
  after = np.linalg.norm(out["xyz"].numpy()[:, :, None] - out["xyz"].numpy()[:, None], axis=-1)
  np.testing.assert_allclose(after, before, atol=1e-3)


def test_reference_stays_on_the_crop_centre_ray_at_the_offset_depth(scene_record):
  batch = batch_of(scene_record, [2])
  out = augment.apply(batch, parameters(angle=0.3, scale=1.1, shift_u=5.0, shift_v=-3.0,
                                        depth_offset=12.0))
  centre_pixel = camera.project(out["center_xyz"], out["crop_intrinsics"]).numpy()[0]
  np.testing.assert_allclose(centre_pixel, (63.5, 63.5), atol=1e-3)
  assert abs(out["center_xyz"].numpy()[0, 2] - batch["center_xyz"].numpy()[0, 2] - 12.0) < 1e-3
  net = out["depth_input"].numpy()[0, ..., 0]
  crop = out["crop_depth"].numpy()[0]
  valid = crop > 0
  np.testing.assert_allclose(
      net[valid], np.clip((crop[valid] - out["center_xyz"].numpy()[0, 2]) / 150.0, -1, 1),
      atol=1e-5)


def test_same_seed_same_augmentation(scene_record):
  batch = batch_of(scene_record, [0, 1])
  first = augment.augment(batch, tf.constant([1, 2]))
  again = augment.augment(batch, tf.constant([1, 2]))
  other = augment.augment(batch, tf.constant([1, 3]))
  np.testing.assert_array_equal(first["crop_depth"].numpy(), again["crop_depth"].numpy())
  assert not np.array_equal(first["crop_depth"].numpy(), other["crop_depth"].numpy())


def test_a_known_point_maps_exactly_under_any_rotation_of_the_full_circle(scene_record):
  """A marked pixel and a 3D label placed on it move together for angles over the full circle:
  the label's projection lands on the pixel that the warp moved the mark to."""
  batch = batch_of(scene_record, [3])
  size = batch["crop_depth"].shape[1]
  marked = np.zeros_like(batch["crop_depth"].numpy())
  mark = (40, 25)  # (u, v) pixel centre
  marked[0, mark[1], mark[0]] = 700.0
  intrinsics = batch["crop_intrinsics"].numpy()
  fx, fy, cx, cy = intrinsics[0]
  xyz = np.zeros([1, 21, 3], np.float32)
  xyz[0, 0] = [(mark[0] - cx) * 700.0 / fx, (mark[1] - cy) * 700.0 / fy, 700.0]
  for degrees in (-179.0, -135.0, -90.0, 0.0, 45.0, 90.0, 150.0, 180.0):
    example = dict(batch, crop_depth=tf.constant(marked), xyz=tf.constant(xyz),
                   truth_xyz=tf.constant(xyz))
    out = augment.apply(example, parameters(angle=math.radians(degrees)))
    where = np.argwhere(out["crop_depth"].numpy()[0] == 700.0)
    assert len(where) == 1, (degrees, len(where))
    v, u = where[0]
    projected = camera.project(out["xyz"][:, :1], out["crop_intrinsics"][:, None]).numpy()
    np.testing.assert_allclose(projected[0, 0], [u, v], atol=0.51, err_msg=str(degrees))
    assert 0 <= u < size and 0 <= v < size
    np.testing.assert_allclose(out["xyz"].numpy()[0, 0, 2], 700.0, rtol=1e-6)


def test_full_circle_sampling_covers_every_roll():
  params = augment.sample_parameters(4096, tf.constant([1, 2]),
                                     augment.AugmentConfig(rotation_deg=180.0))
  degrees = np.degrees(params["angle"].numpy())
  assert degrees.min() < -170.0 and degrees.max() > 170.0
  counts, _ = np.histogram(degrees, bins=6, range=(-180, 180))
  assert counts.min() > 0.8 * 4096 / 6
