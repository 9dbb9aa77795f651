"""The synthetic hand's skin: round cones along the bones, a rounded palm and a forearm.

The surface is built from the keypoints and bone frames of `handvol.hand.kinematics` and a
subject's widths; it is independent of the Gaussian volume of `handvol.hand.volume`, so the
generative loss is tested against a shape it does not contain.

Radii are those of an average adult hand (finger breadths at the joints of about 16-22 mm,
palm thickness about 26 mm); subjects scale them (`subjects.Subject`).
"""

import numpy as np

from handvol.data.synthetic import raycast
from handvol.hand import skeleton

BONE_RADII_MM = {
    # Per finger, (start, end) radius of its four bones from the wrist outwards. The palm bones
    # (wrist→base) round the palm's edges and knuckles; the thumb's first two are the thenar.
    "thumb": ((13.0, 13.0), (12.5, 10.5), (10.0, 9.5), (9.5, 8.0)),
    "index": ((10.5, 10.0), (9.5, 8.5), (8.5, 7.8), (7.8, 7.0)),
    "middle": ((10.5, 10.2), (9.8, 8.8), (8.8, 8.0), (8.0, 7.2)),
    "ring": ((10.5, 9.8), (9.2, 8.3), (8.3, 7.6), (7.6, 6.9)),
    "little": ((10.5, 9.0), (8.2, 7.4), (7.4, 6.8), (6.8, 6.2)),
}
"""Round-cone radii (mm) of the bones of an average hand."""

PALM_HALF_THICKNESS_MM = 12.5
"""Semi-axis of the palm ellipsoid along the dorsal normal."""
PALM_LENGTH_MARGIN_MM = 2.0
PALM_WIDTH_MARGIN_MM = 6.0
"""Added to half the wrist→MCP distance and half the index–little MCP spread (mm)."""

FOREARM_LENGTH_MM = 260.0
"""Long enough to leave a 300 mm crop cube centred on the hand."""
FOREARM_RADII_MM = (24.0, 31.0)
"""Forearm round-cone radii at the wrist and at the far end."""
FOREARM_OVERLAP_MM = 12.0
"""The forearm starts this far inside the palm, distal of the wrist keypoint."""

PALM_FINGERS = ("index", "middle", "ring", "little")
PALM_CENTRE_FINGER = "middle"
"""The fingers whose base joints (MCP) span the palm; the finger whose palm bone sets its
dorsal normal."""

IS_TIP_BONE = np.array([end not in skeleton.KEYPOINT_PARENTS for end in skeleton.BONE_END])
"""`[20]` bool: the bones that end at a fingertip."""
TIP_PULL_BACK_MAX = 0.5
"""The tip sphere's pull-back is at most this fraction of the distal bone's length."""

PART_PALM = skeleton.NUM_BONES
PART_FOREARM = skeleton.NUM_BONES + 1
"""Part ids of `build_surface`'s primitives: 0..19 the bones, then the palm and the forearm."""


def _bone_radii():
  radii = np.zeros((skeleton.NUM_BONES, 2))
  for bone in range(skeleton.NUM_BONES):
    finger = skeleton.FINGERS[skeleton.BONE_FINGER[bone]]
    segment = skeleton.FINGER_KEYPOINTS[skeleton.BONE_FINGER[bone]].index(
        skeleton.BONE_END[bone])
    radii[bone] = BONE_RADII_MM[finger][segment]
  return radii


BONE_RADII = _bone_radii()
"""`[20, 2]` (start, end) radii in bone order."""


def _unit(x):
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _base_keypoint(finger):
  return skeleton.FINGER_KEYPOINTS[skeleton.FINGERS.index(finger)][0]


def palm_frame(keypoints, bone_frames):
  """The palm's centre and axes from the posed skeleton.

  Args:
    keypoints: `[21, 3]` mm, camera frame.
    bone_frames: `[20, 3, 3]` bone frames (`kinematics.forward_kinematics`).

  Returns:
    (centre `[3]` mm, axes `[3, 3]` with columns distal, radial-ish (dorsal × distal), dorsal;
    half length and half width in mm).
  """
  wrist = keypoints[skeleton.ROOT]
  bases = keypoints[[_base_keypoint(f) for f in PALM_FINGERS]]
  knuckles = bases.mean(axis=0)
  distal = _unit(knuckles - wrist)
  centre_bone = skeleton.BONE_END.index(_base_keypoint(PALM_CENTRE_FINGER))
  dorsal = bone_frames[centre_bone][:, 1]
  dorsal = _unit(dorsal - np.dot(dorsal, distal) * distal)
  side = np.cross(dorsal, distal)
  half_length = 0.5 * np.linalg.norm(knuckles - wrist)
  half_width = 0.5 * np.linalg.norm(bases[0] - bases[-1])
  return 0.5 * (wrist + knuckles), np.stack([distal, side, dorsal], axis=-1), half_length, \
      half_width


def build_surface(keypoints, bone_frames, bone_radius_scale, palm_thickness_scale,
                  forearm_direction):
  """The hand's surface as a `raycast.Surface`, and the part each primitive belongs to.

  Args:
    keypoints: `[21, 3]` mm, camera frame (`forward_kinematics` "keypoints").
    bone_frames: `[20, 3, 3]` (`forward_kinematics` "bone_frames").
    bone_radius_scale: `[20]` factors on `BONE_RADII` (a subject's finger widths).
    palm_thickness_scale: Factor on the palm's thickness and the forearm's radii.
    forearm_direction: `[3]` unit vector from the wrist towards the elbow, camera frame.

  Returns:
    (surface, parts): `parts` `[K + E]` int, per primitive its bone (0..19), `PART_PALM` or
    `PART_FOREARM`.
  """
  keypoints = np.asarray(keypoints, np.float64)
  bone_frames = np.asarray(bone_frames, np.float64)
  radii = BONE_RADII * np.asarray(bone_radius_scale)[:, None]
  starts = keypoints[list(skeleton.BONE_START)]
  ends = keypoints[list(skeleton.BONE_END)]
  # Fingertip keypoints lie on the skin (`bone_lengths.FINGERTIP_PAD_MM`): the tip sphere's
  # centre sits one radius back along the bone.
  axes_along = bone_frames[:, :, 0]
  pull_back = np.minimum(radii[:, 1], TIP_PULL_BACK_MAX * np.linalg.norm(ends - starts, axis=-1))
  ends = ends - np.where(IS_TIP_BONE, pull_back, 0.0)[:, None] * axes_along
  centre, axes, half_length, half_width = palm_frame(keypoints, bone_frames)
  wrist = keypoints[skeleton.ROOT]
  forearm_start = wrist + FOREARM_OVERLAP_MM * axes[:, 0]
  forearm_end = wrist + FOREARM_LENGTH_MM * np.asarray(forearm_direction, np.float64)
  forearm_radii = np.asarray(FOREARM_RADII_MM) * palm_thickness_scale
  surface = raycast.Surface(
      cone_starts=np.concatenate([starts, forearm_start[None]]),
      cone_ends=np.concatenate([ends, forearm_end[None]]),
      cone_start_radii=np.append(radii[:, 0], forearm_radii[0]),
      cone_end_radii=np.append(radii[:, 1], forearm_radii[1]),
      ellipsoid_centres=centre[None],
      ellipsoid_axes=axes[None],
      ellipsoid_radii=np.array([[half_length + PALM_LENGTH_MARGIN_MM,
                                 half_width + PALM_WIDTH_MARGIN_MM,
                                 PALM_HALF_THICKNESS_MM * palm_thickness_scale]]))
  parts = np.concatenate([np.arange(skeleton.NUM_BONES), [PART_FOREARM, PART_PALM]])
  return surface, parts


def keypoint_radii(bone_radius_scale):
  """The skin's radius around each keypoint (mm): its bone's end radius (the wrist: the
  forearm's), for visibility tests.

  Args:
    bone_radius_scale: `[20]` factors on `BONE_RADII`.

  Returns:
    `[21]` radii in mm.
  """
  radii = np.empty(skeleton.NUM_KEYPOINTS)
  radii[skeleton.ROOT] = FOREARM_RADII_MM[0]
  radii[list(skeleton.BONE_END)] = BONE_RADII[:, 1] * np.asarray(bone_radius_scale)
  return radii
