"""Fixtures shared by the hand-model tests."""

import numpy as np
import pytest

from handvol.hand import skeleton


def _random_pose(rng, batch, max_articulation=1.2):
  """θ `[batch, 26]`: wrist near (0, 0, 500) mm, any global rotation, articulation angles
  uniform in ±max_articulation radians (beyond the joint limits on purpose: FK must not care)."""
  theta = np.zeros((batch, skeleton.NUM_THETA))
  theta[:, skeleton.THETA_TRANSLATION] = rng.uniform(-100, 100, (batch, 3)) + [0, 0, 500]
  theta[:, skeleton.THETA_ROTATION] = rng.uniform(-np.pi, np.pi, (batch, 3))
  theta[:, skeleton.THETA_ARTICULATION] = rng.uniform(
      -max_articulation, max_articulation, (batch, skeleton.NUM_ARTICULATIONS))
  return theta


@pytest.fixture
def random_pose():
  """`random_pose(rng, batch, max_articulation=1.2)` → θ `[batch, 26]`."""
  return _random_pose
