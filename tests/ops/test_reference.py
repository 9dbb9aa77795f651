"""The pure-TF overlap sums against hand-derived values."""

import math

import numpy as np
import pytest

from handvol import ops


def test_one_pair_matches_the_closed_form():
  # σ_i = 1, σ_p = 2, offset (3, 4): S = 2π·4/5·exp(−25/10); Δ = 1 − 5/(2·10) = 0.75.
  image = [[[0.0, 0.0, 1.0, 500.0]]]
  model = [[[3.0, 4.0, 2.0, 505.0]]]
  value = ops.gaussian_overlap_reference(image, [[1.0]], model, [[10.0]]).numpy()
  np.testing.assert_allclose(value, [0.75 * 2 * math.pi * 4 / 5 * math.exp(-2.5)], rtol=1e-6)


def test_padding_and_far_depths_contribute_nothing():
  image = [[[0.0, 0.0, 1.0, 500.0], [0.0, 0.0, 0.0, 0.0]]]
  model = [[[0.0, 0.0, 1.0, 520.0]]]
  value = ops.gaussian_overlap_reference(image, [[1.0, 0.0]], model, [[10.0]]).numpy()
  np.testing.assert_array_equal(value, [0.0])


def test_self_overlap_of_one_gaussian_is_pi_sigma_squared():
  image = [[[4.0, 5.0, 2.0, 500.0], [9.0, 9.0, 3.0, 400.0]]]
  value = ops.image_self_overlap_reference(image, [[1.0, 0.0]]).numpy()
  np.testing.assert_allclose(value, [math.pi * 4.0], rtol=1e-6)


def test_shape_errors_name_the_argument():
  with pytest.raises(ValueError, match="model_gaussians must have exactly 4"):
    ops.gaussian_overlap_reference(np.zeros([1, 2, 4]), np.ones([1, 2]), np.zeros([1, 3, 3]),
                                   np.ones([1, 3]))
  with pytest.raises(ValueError, match="image_mask"):
    ops.gaussian_overlap_reference(np.zeros([1, 2, 4]), np.ones([1, 5]), np.zeros([1, 3, 4]),
                                   np.ones([1, 3]))
  with pytest.raises(ValueError, match="image_gaussians must have rank 3"):
    ops.image_self_overlap_reference(np.zeros([2, 4]), np.ones([1, 2]))
