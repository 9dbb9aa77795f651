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
