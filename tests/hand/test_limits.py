import numpy as np

from handvol.hand import limits
from handvol.hand import skeleton


def _limits_deg(articulation):
  index = skeleton.ARTICULATIONS.index(articulation)
  return np.degrees(limits.LOWER[index]), np.degrees(limits.UPPER[index])


def test_limits_cover_the_twenty_articulations_in_order():
  assert limits.LOWER.shape == limits.UPPER.shape == (skeleton.NUM_ARTICULATIONS,)
  assert np.all(limits.LOWER < limits.UPPER)


def test_rest_pose_lies_inside_the_limits():
  rest = np.zeros(skeleton.NUM_ARTICULATIONS)
  assert np.all(limits.LOWER <= rest) and np.all(rest <= limits.UPPER)


def test_limits_are_the_cited_ranges():
  np.testing.assert_allclose(_limits_deg("index_joint1_flexion"), (0.0, 100.0))
  np.testing.assert_allclose(_limits_deg("ring_joint2_flexion"), (0.0, 80.0))
  np.testing.assert_allclose(_limits_deg("little_base_flexion"), (-45.0, 90.0))
  np.testing.assert_allclose(_limits_deg("middle_base_abduction"), (-20.0, 20.0))
  np.testing.assert_allclose(_limits_deg("thumb_joint1_flexion"), (-10.0, 55.0))
  np.testing.assert_allclose(_limits_deg("thumb_joint2_flexion"), (-15.0, 80.0))
  np.testing.assert_allclose(_limits_deg("thumb_base_abduction"), (0.0, 45.0))
  # In the palm plane the thumb flexes until it meets the index metacarpal and extends 60° past.
  lower, upper = _limits_deg("thumb_base_flexion")
  np.testing.assert_allclose(upper, skeleton.REST_ANGLES_DEG["thumb"][1]
                             - skeleton.REST_ANGLES_DEG["index"][0])
  np.testing.assert_allclose(upper - lower, 60.0)
