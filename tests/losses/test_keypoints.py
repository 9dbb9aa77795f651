"""Tests of keypoint supervision: 3D points, 2D rays, visibility, slack, subsets."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.data import records
from handvol.losses import keypoints as keypoint_loss

# A crop camera whose principal ray passes through pixel (64, 64).
INTRINSICS = np.array([[200.0, 200.0, 64.0, 64.0]], np.float32)


def _batch(model_points, uv=None, xyz=None, kind=None):
  num = len(model_points)
  return dict(
      keypoints=np.array([model_points], np.float32),
      uv=np.zeros([1, num, 2], np.float32) if uv is None else np.array([uv], np.float32),
      xyz=np.zeros([1, num, 3], np.float32) if xyz is None else np.array([xyz], np.float32),
      kind=np.array([kind], np.int32),
      intrinsics=INTRINSICS)


def test_3d_label_distance():
  batch = _batch([[0.0, 0.0, 500.0]], xyz=[[3.0, 4.0, 500.0]], kind=[records.KIND_3D])
  np.testing.assert_allclose(keypoint_loss.keypoint_distances(**batch), [[5.0]], rtol=1e-6)


def test_2d_label_is_the_distance_to_the_ray():
  # Pixel (64, 64) looks along +z; a point 3, 4 mm off that axis is 5 mm from the ray at any
  # depth. Pixel (164, 64) looks along (0.5, 0, 1): the point (250, 0, 500) lies on it.
  batch = _batch([[3.0, 4.0, 500.0], [3.0, 4.0, 900.0], [250.0, 0.0, 500.0]],
                 uv=[[64.0, 64.0], [64.0, 64.0], [164.0, 64.0]], kind=[records.KIND_2D] * 3)
  np.testing.assert_allclose(keypoint_loss.keypoint_distances(**batch), [[5.0, 5.0, 0.0]],
                             atol=1e-3)


def test_unlabelled_keypoints_ignore_nan_labels():
  nan = float("nan")
  batch = _batch([[1.0, 2.0, 500.0], [1.0, 2.0, 500.0]], uv=[[nan, nan], [64.0, 64.0]],
                 xyz=[[nan, nan, nan], [nan, nan, nan]],
                 kind=[records.KIND_NONE, records.KIND_2D])
  points = tf.constant(batch.pop("keypoints"))
  with tf.GradientTape() as tape:
    tape.watch(points)
    distances = keypoint_loss.keypoint_distances(points, **batch)
    total = tf.reduce_sum(distances)
  np.testing.assert_allclose(distances, [[0.0, np.sqrt(5.0)]], rtol=1e-5)
  assert np.all(np.isfinite(tape.gradient(total, points)))


def test_energy_applies_slack_and_weights():
  distances = [[5.0, 1.0, 10.0, 7.0]]
  weights = [[1.0, 1.0, 0.0, 1.0]]
  # (5 − 2)² + 0 (inside the slack) + 0 (weight 0) + (7 − 2)²
  np.testing.assert_allclose(keypoint_loss.keypoint_energy(distances, weights, slack_mm=2.0),
                             [34.0], rtol=1e-6)
  with pytest.raises(ValueError, match="slack"):
    keypoint_loss.keypoint_energy(distances, weights, slack_mm=-1.0)


def test_layer_uses_visibility_kind_and_subset():
  model_points = [[0.0, 0.0, 500.0]] * 3
  labels = [[3.0, 4.0, 500.0], [6.0, 8.0, 500.0], [0.0, 30.0, 500.0]]
  batch = _batch(model_points, xyz=labels, kind=[records.KIND_3D] * 3)
  visible = np.array([[1.0, 0.0, 1.0]], np.float32)
  args = (batch["keypoints"], batch["uv"], batch["xyz"], batch["kind"], visible, INTRINSICS)
  # Keypoint 1 is occluded: 5² + 30².
  np.testing.assert_allclose(keypoint_loss.KeypointLoss()(*args), [925.0], rtol=1e-5)
  # Only keypoint 0 may be supervised; slack 1 mm: (5 − 1)².
  np.testing.assert_allclose(keypoint_loss.KeypointLoss(1.0, keypoints=[0])(*args), [16.0],
                             rtol=1e-5)
  # Without visibility the occluded keypoint counts too: 5² + 10² + 30².
  np.testing.assert_allclose(keypoint_loss.KeypointLoss(use_visibility=False)(*args), [1025.0],
                             rtol=1e-5)


def test_all_invisible_gives_zero_with_finite_gradient():
  points = tf.constant([[[0.0, 0.0, 500.0], [3.0, 4.0, 500.0]]])
  with tf.GradientTape() as tape:
    tape.watch(points)
    energy = keypoint_loss.KeypointLoss()(
        points, tf.zeros([1, 2, 2]), points, tf.fill([1, 2], records.KIND_3D), tf.zeros([1, 2]),
        INTRINSICS)
  np.testing.assert_allclose(energy, [0.0])
  gradient = tape.gradient(energy, points)
  np.testing.assert_allclose(gradient, np.zeros([1, 2, 3]))


def test_rejects_bad_shapes():
  with pytest.raises(ValueError, match="uv"):
    keypoint_loss.keypoint_distances(tf.zeros([1, 2, 3]), tf.zeros([1, 2, 3]),
                                     tf.zeros([1, 2, 3]), tf.zeros([1, 2], tf.int32), INTRINSICS)
