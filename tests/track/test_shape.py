"""Shape calibration: the robust mean, the shared-β fit, the shape file."""

import json

import numpy as np
import pytest
import tensorflow as tf

from handvol.data.synthetic import generator
from handvol.data.synthetic import sequences
from handvol.data.synthetic import subjects
from handvol.evaluation import metrics
from handvol.export import serving
from handvol.geometry import camera
from handvol.hand import skeleton
from handvol.track import shape as shape_lib


def test_robust_mean_ignores_a_minority_of_outliers():
  rng = np.random.default_rng(0)
  truth = rng.standard_normal(skeleton.NUM_BETA)
  betas = truth + 0.1 * rng.standard_normal((40, skeleton.NUM_BETA))
  betas[:15] += 5.0  # 15 wild frames of 40
  assert np.abs(shape_lib.robust_mean(betas) - truth).max() < 0.1
  assert np.abs(betas.mean(axis=0) - truth).max() > 1.0
  with pytest.raises(ValueError, match="shape"):
    shape_lib.robust_mean(np.zeros((3, 5)))


def test_fixed_shape_joints_keep_its_bone_lengths(tmp_path):
  shape = shape_lib.shape_from_beta(subjects.make_subject(9).beta, "robust_mean", 12)
  np.testing.assert_allclose(shape.bone_lengths, subjects.make_subject(9).lengths, atol=1e-6)
  theta = np.random.default_rng(1).uniform(-0.5, 0.5, (7, skeleton.NUM_THETA))
  joints = shape_lib.joints_with_shape(theta, shape)
  np.testing.assert_allclose(metrics.bone_lengths(joints), np.tile(shape.bone_lengths, (7, 1)),
                             atol=1e-6)
  path = tmp_path / "shape.json"
  shape_lib.save(str(path), shape)
  loaded = shape_lib.load(str(path))
  np.testing.assert_allclose(loaded.beta, shape.beta, atol=1e-6)
  np.testing.assert_allclose(loaded.bone_lengths, shape.bone_lengths, atol=1e-4)
  assert (loaded.method, loaded.frames) == ("robust_mean", 12)
  data = json.loads(path.read_text())
  data["bone_names"] = data["bone_names"][::-1]
  path.write_text(json.dumps(data))
  with pytest.raises(ValueError, match="bone order"):
    shape_lib.load(str(path))
  path.write_text("{}")
  with pytest.raises(ValueError, match="handvol-shape"):
    shape_lib.load(str(path))


def _fit_inputs():
  """Crops at the true centres, true poses and the mean hand's β of 6 frames of subject 9."""
  subject = subjects.make_subject(9)
  config = generator.SyntheticConfig(batch_size=6)
  frames = list(sequences.generate_sequence(6, subject, seed=2, config=config))
  depth = np.stack([f["depth"] for f in frames]).astype(np.float32)
  intrinsics = np.tile(np.asarray(config.intrinsics, np.float32), (6, 1))
  centres = np.stack([f["truth_xyz"].mean(axis=0) for f in frames]).astype(np.float32)
  crops = serving.preprocess_frames(depth, np.ones(6, np.float32), intrinsics,
                                    camera.xyz_to_uvd(tf.constant(centres), intrinsics),
                                    np.ones(6, np.float32))
  examples = shape_lib.fit_examples(crops["crop_depth"].numpy(), crops["crop_intrinsics"].numpy(),
                                    crops["center_xyz"].numpy(), 1024)
  return subject, examples, np.stack([f["theta"] for f in frames]), np.zeros((6, skeleton.NUM_BETA))


def test_the_shared_beta_fit_moves_towards_the_true_hand():
  """Started from the mean hand at the true poses, the image alone pulls one β towards the
  subject's bone lengths."""
  subject, examples, theta, start = _fit_inputs()
  fitted = shape_lib.fit_shape(examples, theta, start, steps=60, learning_rate=0.03)
  before = np.abs(shape_lib.shape_from_beta(start[0], "", 0).bone_lengths - subject.lengths)
  after = np.abs(fitted.bone_lengths - subject.lengths)
  assert fitted.method == "fit" and fitted.frames == 6
  assert after.mean() < 0.8 * before.mean(), (after.mean(), before.mean())


def test_the_bone_prior_s_weight_holds_beta_near_the_mean_hand():
  _, examples, theta, start = _fit_inputs()
  free = shape_lib.fit_shape(examples, theta, start, steps=30, learning_rate=0.03,
                             bone_weight=0.0)
  held = shape_lib.fit_shape(examples, theta, start, steps=30, learning_rate=0.03,
                             bone_weight=10.0)
  assert np.linalg.norm(held.beta) < 0.5 * np.linalg.norm(free.beta), (held.beta, free.beta)


def test_imposed_bone_lengths_keep_the_wrist_and_the_directions():
  shape = shape_lib.shape_from_beta(subjects.make_subject(8).beta, "fit", 3)
  theta = np.random.default_rng(2).uniform(-0.4, 0.4, (2, skeleton.NUM_THETA))
  joints = shape_lib.joints_with_shape(theta, shape)
  blurred = 0.5 * (joints[0] + joints[1])  # an average of two poses: its bones are short
  assert np.abs(metrics.bone_lengths(blurred[None]) - shape.bone_lengths).max() > 0.1
  fixed = shape_lib.impose_bone_lengths(blurred, shape.bone_lengths)
  np.testing.assert_allclose(metrics.bone_lengths(fixed[None])[0], shape.bone_lengths,
                             atol=1e-9)
  np.testing.assert_array_equal(fixed[0], blurred[0])
  child, parent = skeleton.BONE_END[5], skeleton.BONE_START[5]
  direction = lambda x: (x[child] - x[parent]) / np.linalg.norm(x[child] - x[parent])
  np.testing.assert_allclose(direction(fixed), direction(blurred), atol=1e-9)
