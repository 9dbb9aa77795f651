"""Protocol tables."""

import pytest

from handvol.evaluation import protocols
from handvol.hand import skeleton


def test_nyu14_and_match11():
  assert protocols.NYU14_FROM_NYU36 == (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32)
  assert len(protocols.NYU14_NAMES) == len(protocols.NYU14_FROM_NYU36)
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
