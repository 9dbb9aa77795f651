"""Tests of the parameterisation of θ and β."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.hand import limits
from handvol.hand import skeleton
from handvol.model import head

CENTER = np.array([[10.0, -20.0, 500.0]], np.float32)


def test_zero_outputs_give_the_neutral_hand_at_the_reference_point():
  parameters = head.PoseHead()(np.zeros([1, head.NUM_OUTPUTS], np.float32), CENTER)
  theta = parameters["theta"].numpy()[0]
  np.testing.assert_allclose(theta[skeleton.THETA_TRANSLATION], CENTER[0])
  np.testing.assert_allclose(theta[skeleton.THETA_ROTATION], 0.0)
  np.testing.assert_allclose(theta[skeleton.THETA_ARTICULATION],
                             0.5 * (limits.LOWER + limits.UPPER), rtol=1e-6)
  np.testing.assert_allclose(parameters["beta"], np.zeros([1, skeleton.NUM_BETA]))


def test_scales():
  outputs = np.zeros([1, head.NUM_OUTPUTS], np.float32)
  outputs[0, :3] = [1.0, -1.0, 0.5]
  outputs[0, 3] = 0.25
  outputs[0, skeleton.NUM_THETA] = 2.0
  layer = head.PoseHead(translation_scale_mm=150.0, rotation_scale=2.0, beta_scale=3.0)
  parameters = layer(outputs, CENTER)
  np.testing.assert_allclose(parameters["theta"][0, :4], [160.0, -170.0, 575.0, 0.5])
  np.testing.assert_allclose(parameters["beta"][0, 0], 6.0)


def test_articulation_maps_unit_outputs_to_the_limits():
  ones = np.ones([1, head.NUM_OUTPUTS], np.float32)
  free = head.PoseHead()(ones, CENTER)["theta"][0, skeleton.THETA_ARTICULATION]
  np.testing.assert_allclose(free, limits.UPPER, rtol=1e-5, atol=1e-6)
  huge = head.PoseHead(articulation="bounded")(-50.0 * ones, CENTER)["theta"]
  articulation = huge[0, skeleton.THETA_ARTICULATION].numpy()
  assert np.all(articulation >= limits.LOWER - 1e-6)
  assert np.all(articulation <= limits.UPPER + 1e-6)


def test_rejects_bad_arguments():
  with pytest.raises(ValueError, match="articulation"):
    head.PoseHead(articulation="clipped")
  with pytest.raises(ValueError, match="outputs"):
    head.PoseHead()(tf.zeros([1, 45]), CENTER)


def test_rotation_offset_is_the_rotation_of_zero_outputs():
  offset = (1.5, -0.25, 0.5)
  layer = head.PoseHead(rotation_offset=offset, rotation_scale=2.0)
  outputs = np.zeros([2, head.NUM_OUTPUTS], np.float32)
  outputs[1, 3:6] = [0.5, 0.5, -1.0]
  rotation = layer(outputs, np.repeat(CENTER, 2, axis=0))["theta"][:, skeleton.THETA_ROTATION]
  np.testing.assert_allclose(rotation, [offset, [2.5, 0.75, -1.5]], rtol=1e-6)
  assert head.PoseHead.from_config(layer.get_config()).rotation_offset == list(offset)
  with pytest.raises(ValueError, match="rotation_offset"):
    head.PoseHead(rotation_offset=(0.0, 1.0))


def _random_rotations(num, seed=0):
  from scipy.spatial import transform
  return transform.Rotation.random(num, random_state=seed).as_matrix().astype(np.float32)


def test_six_d_round_trips_rotations_over_the_whole_sphere():
  rotations = _random_rotations(4096)
  six_d = np.concatenate([rotations[..., 0], rotations[..., 1]], axis=-1)
  np.testing.assert_allclose(head.six_d_to_matrix(six_d), rotations, atol=1e-5)
  # Any non-parallel pair, scaled and skewed, gives a proper rotation.
  skewed = 3.0 * six_d + np.concatenate([np.zeros_like(six_d[:, :3]), six_d[:, :3]], axis=-1)
  matrices = head.six_d_to_matrix(skewed).numpy()
  np.testing.assert_allclose(matrices @ np.swapaxes(matrices, 1, 2),
                             np.broadcast_to(np.eye(3), matrices.shape), atol=1e-5)
  np.testing.assert_allclose(np.linalg.det(matrices), 1.0, atol=1e-5)
  np.testing.assert_allclose(matrices[:, :, 0], rotations[:, :, 0], atol=1e-5)


def test_six_d_head_theta_encodes_its_rotation_matrix():
  from handvol.hand import kinematics
  rotations = _random_rotations(512, seed=1)
  outputs = np.zeros([512, head.num_outputs("6d")], np.float32)
  # Zero outputs are the identity (rotation_offset 0): the outputs are the 6D minus the rest's.
  outputs[:, 3:9] = np.concatenate([rotations[..., 0], rotations[..., 1]], axis=-1) - [
      1, 0, 0, 0, 1, 0]
  parameters = head.PoseHead(rotation="6d")(outputs, np.repeat(CENTER, 512, axis=0))
  np.testing.assert_allclose(parameters["rotation_matrix"], rotations, atol=1e-5)
  euler = parameters["theta"][:, skeleton.THETA_ROTATION]
  np.testing.assert_allclose(kinematics.euler_to_matrix(euler), rotations, atol=1e-5)
  assert head.num_outputs("6d") == head.NUM_OUTPUTS + 3
  with pytest.raises(ValueError, match="rotation must be one of"):
    head.PoseHead(rotation="quaternion")


def test_six_d_rotation_offset_is_the_rotation_of_zero_outputs():
  from handvol.hand import kinematics
  offset = (0.4, -1.2, 2.9)
  parameters = head.PoseHead(rotation="6d", rotation_offset=offset)(
      np.zeros([1, head.num_outputs("6d")], np.float32), CENTER)
  np.testing.assert_allclose(parameters["rotation_matrix"][0],
                             kinematics.euler_to_matrix(np.float32(offset)), atol=1e-6)
