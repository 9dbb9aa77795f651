"""The hand's volume: isotropic 3D Gaussians attached to the bones of the skeleton.

Each Gaussian sits on the axis of one bone at a fixed fraction of the bone's length from its
proximal end and has a fixed standard deviation σ_h (mm); it moves rigidly with its bone. The
palm is made of the Gaussians on the rigid wrist→base bones. The layout (`GAUSSIANS`) follows a
hand's shape: three palm Gaussians per finger ray (σ from 12 mm near the wrist to 9.5 mm at the
knuckles, about the palm's half-thickness), a large thenar Gaussian on the thumb's carpal bone,
two Gaussians per long bone and one or two on the short ones (σ shrinking from 10 mm at the
proximal phalanges to 7.5-8 mm at the tips, about a finger's half-width), and the last Gaussian
of every finger about one σ short of the fingertip keypoint, which lies on the skin.
`docs/figures/hand_model.png` shows it.

The collision prior sums the 3D overlap over `COLLISION_PAIRS`: all pairs of Gaussians except
those on the same bone, on bones that meet at a joint (parent and child, and the five bones that
all start at the wrist), and on the bone pairs of `EXTRA_EXCLUDED_BONE_PAIRS`.
"""

import numpy as np
import tensorflow as tf

from handvol import shapes
from handvol.hand import skeleton


def _bone(start, end):
  return skeleton.BONE_NAMES.index(f"{start}->{end}")


def _finger_gaussians(finger, proximal, middle, distal):
  keypoints = [skeleton.KEYPOINT_NAMES[k] for k in
               skeleton.FINGER_KEYPOINTS[skeleton.FINGERS.index(finger)]]
  table = []
  for (start, end), gaussians in zip(zip(keypoints[:-1], keypoints[1:]),
                                     (proximal, middle, distal)):
    table += [(_bone(start, end), fraction, sigma) for fraction, sigma in gaussians]
  return table


_PALM_RAY = ((0.3, 12.0), (0.6, 11.0), (0.88, 10.0))
_LITTLE_PALM_RAY = ((0.3, 12.0), (0.6, 10.5), (0.88, 9.5))
_LONG_FINGER = (((0.25, 10.0), (0.75, 9.5)), ((0.3, 9.0), (0.8, 8.5)), ((0.55, 8.0),))

GAUSSIANS = tuple(
    [(_bone("wrist", f"{finger}_mcp"), fraction, sigma)
     for finger in ("index", "middle", "ring") for fraction, sigma in _PALM_RAY]
    + [(_bone("wrist", "little_mcp"), fraction, sigma) for fraction, sigma in _LITTLE_PALM_RAY]
    + [(_bone("wrist", "thumb_cmc"), 0.75, 13.0)]
    + _finger_gaussians("thumb", ((0.3, 11.5), (0.7, 10.0)), ((0.3, 9.5), (0.8, 9.0)),
                        ((0.35, 8.5), (0.7, 8.0)))
    + _finger_gaussians("index", *_LONG_FINGER)
    + _finger_gaussians("middle", *_LONG_FINGER)
    + _finger_gaussians("ring", *_LONG_FINGER)
    + _finger_gaussians("little", ((0.25, 9.0), (0.75, 8.5)), ((0.5, 8.0),), ((0.55, 7.5),)))
"""The Gaussians: (bone index, fraction of the bone's length from its start, σ_h in mm)."""

NUM_GAUSSIANS = len(GAUSSIANS)
GAUSSIAN_BONES = np.array([bone for bone, _, _ in GAUSSIANS], dtype=np.int32)
"""numpy `[N_m]`: the bone each Gaussian is attached to."""
GAUSSIAN_FRACTIONS = np.array([fraction for _, fraction, _ in GAUSSIANS])
"""numpy `[N_m]`: position along the bone, 0 at its start, 1 at its end."""
SIGMAS_MM = np.array([sigma for _, _, sigma in GAUSSIANS])
"""numpy `[N_m]`: σ_h of each Gaussian, mm."""

_FINGER_RAYS = ("index", "middle", "ring", "little")

EXTRA_EXCLUDED_BONE_PAIRS = tuple(
    [(_bone("thumb_cmc", "thumb_mcp"), _bone("wrist", f"{finger}_mcp")) for finger in _FINGER_RAYS]
    + [(_bone("wrist", f"{palm}_mcp"), _bone(f"{finger}_mcp", f"{finger}_pip"))
       for palm, finger in zip(_FINGER_RAYS[:-1], _FINGER_RAYS[1:])]
    + [(_bone("wrist", f"{palm}_mcp"), _bone(f"{finger}_mcp", f"{finger}_pip"))
       for palm, finger in zip(_FINGER_RAYS[1:], _FINGER_RAYS[:-1])])
"""Bone pairs joined by soft tissue, whose Gaussians overlap by design: the thumb metacarpal and
the palm bones (the thenar eminence is one mass with the palm), and each palm bone with the
neighbouring fingers' proximal phalanges (the finger webs reach to the middle of those)."""


def _excluded_bone_pairs():
  excluded = set(EXTRA_EXCLUDED_BONE_PAIRS)
  for a in range(skeleton.NUM_BONES):
    for b in range(skeleton.NUM_BONES):
      ends_a = {skeleton.BONE_START[a], skeleton.BONE_END[a]}
      if {skeleton.BONE_START[b], skeleton.BONE_END[b]} & ends_a:
        excluded.add((a, b))
  return frozenset(excluded | {(b, a) for a, b in excluded})


EXCLUDED_BONE_PAIRS = _excluded_bone_pairs()
"""Bone pairs (both orders) whose Gaussians the collision prior ignores: the same bone, bones
sharing a joint, and `EXTRA_EXCLUDED_BONE_PAIRS`."""

COLLISION_PAIRS = np.array(
    [(j, k) for j in range(NUM_GAUSSIANS) for k in range(j + 1, NUM_GAUSSIANS)
     if (GAUSSIAN_BONES[j], GAUSSIAN_BONES[k]) not in EXCLUDED_BONE_PAIRS],
    dtype=np.int32)
"""numpy `[P, 2]`: Gaussian index pairs j < k summed by the collision prior."""


def posed_gaussians(fk, name=None):
  """Centres of the model Gaussians for a posed skeleton.

  Args:
    fk: The dict of `kinematics.forward_kinematics`: "keypoints" `[A1, ..., An, 21, 3]` and
      "bone_starts" `[A1, ..., An, 20, 3]`, mm, camera frame.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, N_m, 3]`: μ_h in mm, camera frame, in `GAUSSIANS` order.
  """
  with tf.name_scope(name or "posed_gaussians"):
    keypoints = tf.convert_to_tensor(fk["keypoints"])
    starts = tf.convert_to_tensor(fk["bone_starts"], dtype=keypoints.dtype)
    shapes.check_static(keypoints, tensor_name="fk['keypoints']", has_rank_greater_than=1,
                        has_dim_equals=[(-2, skeleton.NUM_KEYPOINTS), (-1, 3)])
    start = tf.gather(starts, GAUSSIAN_BONES, axis=-2)
    end = tf.gather(keypoints, np.array(skeleton.BONE_END)[GAUSSIAN_BONES], axis=-2)
    fraction = tf.constant(GAUSSIAN_FRACTIONS[:, None], dtype=keypoints.dtype)
    return start + fraction * (end - start)
