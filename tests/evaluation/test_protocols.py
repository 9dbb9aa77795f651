"""Protocol tables."""

import numpy as np
import pytest

from handvol.data import nyu
from handvol.evaluation import protocols
from handvol.hand import skeleton


def test_nyu14_and_match11():
  assert nyu.EVAL14 == (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)
  assert len(protocols.NYU14_NAMES) == len(protocols.NYU14.indices) == 14
  assert protocols.MATCH11.indices == protocols.NYU14.indices[:11]
  assert "wrist 1" not in [protocols.NYU14_NAMES[i] for i in protocols.MATCH11.indices]


def test_hand21_protocols_split_the_keypoints():
  assert protocols.LAB6.indices == (0, 4, 8, 12, 16, 20)
  assert sorted(protocols.LAB6.indices + protocols.UNLAB15.indices) == list(
      protocols.ALL21.indices)
  assert len(protocols.ALL21.indices) == skeleton.NUM_KEYPOINTS


def test_protocols_for_layout_lists_the_full_set_first():
  assert protocols.protocols_for_layout("nyu14") == (protocols.NYU14, protocols.MATCH11)
  assert protocols.protocols_for_layout("hand21") == (protocols.ALL21, protocols.LAB6,
                                                      protocols.UNLAB15)
  with pytest.raises(ValueError, match="layout must be one of"):
    protocols.protocols_for_layout("msra")


def test_hand21_to_nyu14():
  # Keypoint k at x = k: NYU's tips are our tips, the fingers' "mid" joints our PIPs, the
  # thumb's mid and root our thumb IP (3) and MCP (2), both wrist points our wrist, the palm
  # centre the middle of the wrist (0) and the middle MCP (9).
  keypoints = np.zeros((2, skeleton.NUM_KEYPOINTS, 3))
  keypoints[..., 0] = np.arange(skeleton.NUM_KEYPOINTS)
  nyu14 = protocols.hand21_to_nyu14(keypoints)
  assert nyu14.shape == (2, 14, 3)
  np.testing.assert_allclose(nyu14[0, :, 0], [20, 18, 16, 14, 12, 10, 8, 6, 4, 3, 2, 0, 0, 4.5])
  with pytest.raises(ValueError, match=r"keypoints must have shape \[..., 21, 3\]"):
    protocols.hand21_to_nyu14(np.zeros((2, 14, 3)))
