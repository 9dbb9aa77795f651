"""The kinematic skeleton of the hand as data: keypoints, bones, articulations, rest geometry.

Every other module loops over these tables; none hard-codes an index.

Keypoints (21, SPEC §2): 0 wrist; per finger, thumb first, four keypoints from the palm
outwards (thumb: CMC, MCP, IP, tip; other fingers: MCP, PIP, DIP, tip).

Bones (20): bone k goes from keypoint `KEYPOINT_PARENTS[k + 1]` to keypoint `k + 1`, so per
finger: wrist→base (rigid, part of the palm), base→joint 1, joint 1→joint 2, joint 2→tip.

Articulations (20 angles, θ[6:26]): per finger, thumb first, [base flexion, base abduction,
joint-1 flexion, joint-2 flexion]. The base joint is the thumb CMC or the finger MCP; joint 1 the
thumb MCP or finger PIP; joint 2 the thumb IP or finger DIP. Each angle rotates the bone that
starts at its joint about an axis fixed in that bone's frame (`ARTICULATION_AXES`).

Rest geometry: θ = (t, 0, ..., 0) is a flat, open right hand with its palm facing the camera and
its fingers pointing up in the image. In the camera frame at zero global rotation the hand's
axes are `RADIAL` (towards the thumb, +x), `DISTAL` (towards the fingers, −y, up in the image)
and `DORSAL` (palm → back of the hand, +z, away from the camera). Every bone lies in the palm
plane at rest; its direction is `REST_ANGLES_DEG` (degrees from `DISTAL` towards `RADIAL`).
"""

import numpy as np

KEYPOINT_NAMES = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "little_mcp", "little_pip", "little_dip", "little_tip",
)
KEYPOINT_PARENTS = (
    -1,
    0, 1, 2, 3,
    0, 5, 6, 7,
    0, 9, 10, 11,
    0, 13, 14, 15,
    0, 17, 18, 19,
)
ROOT = KEYPOINT_PARENTS.index(-1)
FINGERS = ("thumb", "index", "middle", "ring", "little")
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
NUM_BONES = NUM_KEYPOINTS - 1
KEYPOINTS_PER_FINGER = 4

FINGER_KEYPOINTS = tuple(
    tuple(k for k, name in enumerate(KEYPOINT_NAMES) if name.startswith(finger + "_"))
    for finger in FINGERS)
"""Per finger, its 4 keypoint indices from the palm outwards."""

LAB6 = (ROOT,) + tuple(keypoints[-1] for keypoints in FINGER_KEYPOINTS)
"""The labelled subset: the wrist and the five fingertips."""
UNLAB15 = tuple(k for k in range(NUM_KEYPOINTS) if k not in LAB6)

BONE_START = tuple(KEYPOINT_PARENTS[k + 1] for k in range(NUM_BONES))
"""Keypoint at the proximal end of bone k."""
BONE_END = tuple(k + 1 for k in range(NUM_BONES))
"""Keypoint at the distal end of bone k."""
BONE_NAMES = tuple(f"{KEYPOINT_NAMES[s]}->{KEYPOINT_NAMES[e]}"
                   for s, e in zip(BONE_START, BONE_END))
BONE_FINGER = tuple(FINGERS.index(KEYPOINT_NAMES[e].split("_")[0]) for e in BONE_END)
"""Index into `FINGERS` of the finger each bone belongs to."""
BONE_PARENT = tuple(BONE_END.index(s) if s != ROOT else -1 for s in BONE_START)
"""The bone ending where bone k starts (-1 for the palm bones, which start at the wrist)."""
PALM_BONES = tuple(k for k in range(NUM_BONES) if BONE_START[k] == ROOT)
"""The rigid wrist→base bones (the thumb's wrist→CMC bone included)."""

NUM_GLOBAL = 6
THETA_TRANSLATION = slice(0, 3)
"""θ[0:3]: the wrist position in mm, camera frame."""
THETA_ROTATION = slice(3, 6)
"""θ[3:6]: the global rotation, Euler angles in radians (convention in `kinematics`)."""

FLEXION = "flexion"
ABDUCTION = "abduction"
_FINGER_JOINT_DOFS = (("base", (FLEXION, ABDUCTION)), ("joint1", (FLEXION,)),
                      ("joint2", (FLEXION,)))

ARTICULATIONS = tuple(f"{finger}_{joint}_{kind}" for finger in FINGERS
                      for joint, kinds in _FINGER_JOINT_DOFS for kind in kinds)
"""The 20 articulation angles in θ[6:26] order."""
ARTICULATION_JOINTS = tuple(
    FINGER_KEYPOINTS[f][j] for f in range(len(FINGERS))
    for j, (_, kinds) in enumerate(_FINGER_JOINT_DOFS) for _ in kinds)
"""The keypoint (joint) each articulation angle acts at."""
ARTICULATED_JOINTS = tuple(sorted(set(ARTICULATION_JOINTS)))
"""The 15 articulating joints (keypoint indices): per finger the base joint (2 DOF), joint 1 and
joint 2 (1 DOF each)."""
ARTICULATION_BONES = tuple(BONE_START.index(joint) for joint in ARTICULATION_JOINTS)
"""The bone each articulation angle rotates: the one starting at its joint."""
ARTICULATION_KINDS = tuple(name.rsplit("_", 1)[1] for name in ARTICULATIONS)
NUM_ARTICULATIONS = len(ARTICULATIONS)
THETA_ARTICULATION = slice(NUM_GLOBAL, NUM_GLOBAL + NUM_ARTICULATIONS)
NUM_THETA = NUM_GLOBAL + NUM_ARTICULATIONS
NUM_BETA = NUM_BONES

AXIS_ORDER = (ABDUCTION, FLEXION)
"""At a 2-DOF joint the rotations compose in this order (outer first): abduction, then flexion
about the abducted flexion axis."""
LOCAL_AXES = {
    # Rotation about −column 2 turns column 0 (the bone) towards −column 1 (the palmar side).
    FLEXION: (0.0, 0.0, -1.0),
    # Rotation about +column 1 turns column 0 towards −column 2: radially (towards the thumb) for
    # the fingers, palmar (out of the palm plane) for the thumb, whose frame is twisted.
    ABDUCTION: (0.0, 1.0, 0.0),
}
"""Rotation axis of each articulation kind, in the frame of the bone it rotates."""
ARTICULATION_AXES = np.array([LOCAL_AXES[kind] for kind in ARTICULATION_KINDS])
"""`[20, 3]` unit axes of the articulation angles in θ[6:26] order, bone frame."""

RADIAL = np.array([1.0, 0.0, 0.0])
DISTAL = np.array([0.0, -1.0, 0.0])
DORSAL = np.array([0.0, 0.0, 1.0])

REST_ANGLES_DEG = {
    # wrist→base, base→joint 1, joint 1→joint 2, joint 2→tip; degrees from DISTAL towards RADIAL.
    # Palm rays spread so that the MCP joints lie 17-20 mm apart; the thumb lies alongside the
    # palm, 22° radial of the index ray, as in a relaxed flat hand.
    "thumb": (42.0, 35.0, 30.0, 27.0),
    "index": (13.0, 8.0, 8.0, 8.0),
    "middle": (0.0, 0.0, 0.0, 0.0),
    "ring": (-12.0, -7.0, -7.0, -7.0),
    "little": (-24.0, -16.0, -16.0, -16.0),
}
"""Rest direction of every bone in the palm plane, per finger."""

FINGER_TWIST_DEG = {"thumb": 90.0, "index": 0.0, "middle": 0.0, "ring": 0.0, "little": 0.0}
"""Rotation of a finger's bone frames about the bone, from the palm's dorsal normal towards the
finger's radial-proximal side. The thumb ray is turned 90° against the fingers (its nail faces
radially), so that its flexion moves it in the palm plane and its abduction out of it, as the
anatomical definitions of thumb motion have it."""


def _rest_bone_frames():
  frames = np.zeros((NUM_BONES, 3, 3))
  for bone in range(NUM_BONES):
    finger = FINGERS[BONE_FINGER[bone]]
    segment = FINGER_KEYPOINTS[BONE_FINGER[bone]].index(BONE_END[bone])
    angle = np.radians(REST_ANGLES_DEG[finger][segment])
    twist = np.radians(FINGER_TWIST_DEG[finger])
    along = np.cos(angle) * DISTAL + np.sin(angle) * RADIAL
    side = np.cos(angle) * RADIAL - np.sin(angle) * DISTAL
    dorsal = np.cos(twist) * DORSAL + np.sin(twist) * side
    frames[bone] = np.stack([along, dorsal, np.cross(along, dorsal)], axis=-1)
  return frames


REST_BONE_FRAMES = _rest_bone_frames()
"""`[20, 3, 3]` rest frames of the bones in the camera frame at zero global rotation; columns:
along the bone, dorsal normal, their cross product (SPEC and `kinematics` conventions)."""
