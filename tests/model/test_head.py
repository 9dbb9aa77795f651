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
