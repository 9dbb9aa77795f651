"""Tests of the prediction images written to TensorBoard."""

import numpy as np
import pytest

from handvol.hand import skeleton
from handvol.training import callbacks


def _uv(offset):
  return np.tile(np.linspace(20.0, 100.0, skeleton.NUM_KEYPOINTS)[:, np.newaxis] + offset,
                 [1, 1, 2])


def test_draws_predictions_and_truth_over_the_input():
  depth = np.ones([2, 128, 128, 1], np.float32)  # all far: a black background
  truth = _uv(5.0).repeat(2, axis=0)
  truth[1] = np.nan  # no truth for the second frame
  images = callbacks.draw_skeletons(depth, _uv(0.0).repeat(2, axis=0), truth)
  scale = callbacks.IMAGE_SCALE
  assert images.shape == (2, 128 * scale, 128 * scale, 3)
  assert images.dtype == np.uint8
  white = np.all(images == 255, axis=-1)
  assert white[0].any() and not white[1].any()  # the truth is drawn only where it exists
  colored = images.max(axis=-1) != images.min(axis=-1)
  assert colored[0].any() and colored[1].any()  # predicted bones in the finger colours


def test_project_truth_marks_frames_without_truth():
  examples = {"truth_xyz": np.tile([[[0.0, 0.0, 500.0]]], [2, 21, 1]).astype(np.float32),
              "crop_intrinsics": np.tile([[200.0, 200.0, 63.5, 63.5]], [2, 1]),
              "has_truth": np.array([1.0, 0.0])}
  uv = callbacks.project_truth(examples)
  np.testing.assert_allclose(uv[0], np.full([21, 2], 63.5))
  assert np.all(np.isnan(uv[1]))


def test_rejects_bad_depth_shape():
  with pytest.raises(ValueError, match="depth_input"):
    callbacks.draw_skeletons(np.zeros([128, 128]), _uv(0.0), None)
