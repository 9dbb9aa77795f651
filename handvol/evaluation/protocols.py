"""Evaluation protocols: the keypoint subsets that a reported mean error averages over.

A protocol's indices refer to a keypoint layout, the ordered set of keypoints an array holds:
- "nyu14": the 14 joints of the community's NYU files: NYU's 36-joint indices
  `handvol.data.nyu.EVAL14` = (0, 3, 6, 9, 12, 15, 18, 21, 24, 25, 27, 30, 31, 32), named
  `NYU14_NAMES`.
- "hand21": our 21 keypoints, in the order of `handvol.hand.skeleton.KEYPOINT_NAMES`.
"""

import dataclasses

import numpy as np

from handvol.data import nyu
from handvol.hand import skeleton

NYU14_NAMES = ("little tip", "little mid", "ring tip", "ring mid", "middle tip", "middle mid",
               "index tip", "index mid", "thumb tip", "thumb mid", "thumb root", "wrist 1",
               "wrist 2", "palm centre")
"""Names of the NYU-14 joints, in the order of `nyu.EVAL14`."""

NUM_MATCH11 = 11
"""Match-11 (the paper's Table Ib) keeps the first 11 NYU-14 joints: fingers and thumb, without
the two wrist points and the palm centre, which have no counterpart in our hand model."""

LAYOUTS = {"nyu14": NYU14_NAMES, "hand21": tuple(skeleton.KEYPOINT_NAMES)}
"""Keypoint layout name → keypoint names in array order."""


@dataclasses.dataclass(frozen=True)
class Protocol:
  """A keypoint subset whose mean error is reported.

  Attributes:
    name: Key in metric names, e.g. "nyu14" gives "nyu14_mean_mm".
    title: Name printed in tables and plots, e.g. "NYU-14".
    layout: The `LAYOUTS` key that `indices` refer to.
    indices: Positions of the protocol's keypoints in the layout.
  """
  name: str
  title: str
  layout: str
  indices: tuple


NYU14 = Protocol("nyu14", "NYU-14", "nyu14", tuple(range(len(nyu.EVAL14))))
MATCH11 = Protocol("match11", "Match-11", "nyu14", tuple(range(NUM_MATCH11)))
ALL21 = Protocol("all21", "All-21", "hand21", tuple(range(skeleton.NUM_KEYPOINTS)))
LAB6 = Protocol("lab6", "Lab-6", "hand21", tuple(skeleton.LAB6))
UNLAB15 = Protocol("unlab15", "Unlab-15", "hand21", tuple(skeleton.UNLAB15))

PROTOCOLS = (NYU14, MATCH11, ALL21, LAB6, UNLAB15)
"""Every protocol; per layout the first one listed covers all of the layout's keypoints and
is the one whose fraction-of-frames curve is reported as `frac_max_le_mm`."""


def protocols_for_layout(layout):
  """The protocols defined on a layout, the all-keypoint one first.

  Args:
    layout: A `LAYOUTS` key.

  Returns:
    A tuple of `Protocol`.
  """
  if layout not in LAYOUTS:
    raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {layout!r}")
  return tuple(p for p in PROTOCOLS if p.layout == layout)


def hand21_to_nyu14(keypoints):
  """Our 21 keypoints → the NYU-14 joints, to write our predictions as a NYU comparison file.

  Uses the NYU reader's joint correspondence (`nyu.from_21`, then `nyu.EVAL14`): NYU's tips
  get our tips, the fingers' mid joints our PIPs, the thumb's mid and root joints our thumb IP
  and MCP; NYU's two wrist points both get our wrist and the palm centre the middle of the
  wrist and the middle MCP, which is why only Match-11 compares like with like.

  Args:
    keypoints: An array of shape `[A1, ..., An, 21, 3]`, mm.

  Returns:
    A float64 array of shape `[A1, ..., An, 14, 3]`, mm, in `NYU14_NAMES` order.
  """
  keypoints = np.asarray(keypoints, dtype=np.float64)
  if keypoints.ndim < 2 or keypoints.shape[-2:] != (skeleton.NUM_KEYPOINTS, 3):
    raise ValueError(f"keypoints must have shape [..., {skeleton.NUM_KEYPOINTS}, 3], got shape "
                     f"{keypoints.shape}")
  return nyu.from_21(keypoints)[..., list(nyu.EVAL14), :]
