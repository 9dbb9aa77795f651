"""Hand poses and viewpoints for synthetic frames.

Articulations: a mixture of prototype hand shapes (open, fist, point, pinch, grasp) written as
fractions of each joint's range, blended with a second prototype and perturbed by noise shared
by the whole hand, by a finger and by a joint, so that fingers move together as real hands do;
then clipped to the joint limits of `handvol.hand.limits`.

A fraction f of an angle's range means f·upper limit for f ≥ 0 and −f·lower limit for f < 0
(0 is the flat rest pose, `handvol.hand.kinematics`): flexion f = 1 is fully bent, abduction f > 0
turns a finger radially (towards the thumb) and the thumb palmar.

`POSE_PRESETS` names two articulation distributions: "prototypes" (the above, the default) and
"broad" (a sixth, "spread" prototype, and 30 % of the hands with every angle free).

Viewpoints: the hand's palm or back faces the camera, tilted within a cone and rolled about the
optical axis, at 400-800 mm. `VIEW_PRESETS` names two: "frontal" (the defaults: a cone of 50°,
roll ±60°, fingers roughly up) and "sphere" (a cone of 90° on both sides and any roll: the palm's
normal uniform on the whole sphere, so palm, back and side views, fingers towards and away from
the camera, pointing sideways and down).
"""

import dataclasses

import numpy as np
from scipy.spatial import transform

from handvol.hand import limits
from handvol.hand import skeleton

_OPEN = {"thumb": (0.1, 0.1, 0.0, 0.0), "index": (0.0, 0.25, 0.0, 0.0),
         "middle": (0.0, 0.0, 0.0, 0.0), "ring": (0.0, -0.25, 0.0, 0.0),
         "little": (0.0, -0.45, 0.0, 0.0)}
_FIST_FINGER = (0.9, 0.0, 0.95, 0.6)
PROTOTYPES = {
    # Per finger: (base flexion, base abduction, joint-1 flexion, joint-2 flexion) fractions.
    "open": _OPEN,
    "fist": {"thumb": (0.5, 0.6, 0.5, 0.4), "index": _FIST_FINGER, "middle": _FIST_FINGER,
             "ring": _FIST_FINGER, "little": _FIST_FINGER},
    "point": {"thumb": (0.5, 0.5, 0.4, 0.3), "index": (0.0, 0.0, 0.0, 0.0),
              "middle": _FIST_FINGER, "ring": _FIST_FINGER, "little": _FIST_FINGER},
    "pinch": {"thumb": (0.35, 0.7, 0.2, 0.2), "index": (0.55, 0.0, 0.5, 0.3),
              "middle": (0.3, 0.0, 0.3, 0.2), "ring": (0.25, -0.1, 0.3, 0.2),
              "little": (0.2, -0.3, 0.3, 0.2)},
    "grasp": {"thumb": (0.3, 0.7, 0.2, 0.2), "index": (0.45, 0.05, 0.55, 0.35),
              "middle": (0.5, 0.0, 0.6, 0.4), "ring": (0.5, -0.05, 0.6, 0.4),
              "little": (0.5, -0.1, 0.6, 0.4)},
    # Fingers straight and fanned out as far as they go, the thumb straight and away from the
    # palm ("broad" poses only).
    "spread": {"thumb": (0.0, 0.0, -0.3, -0.2), "index": (-0.1, 0.8, 0.0, 0.0),
               "middle": (-0.1, 0.1, 0.0, 0.0), "ring": (-0.1, -0.6, 0.0, 0.0),
               "little": (-0.1, -0.9, 0.0, 0.0)},
}
"""Prototype hand shapes as fractions of the joint ranges (module docstring)."""

CLASSIC_PROTOTYPES = ("open", "fist", "point", "pinch", "grasp")
"""The prototypes of the default ("prototypes") pose distribution."""


@dataclasses.dataclass(frozen=True)
class PoseConfig:
  """Pose sampling parameters (fractions of joint ranges unless stated).

  Attributes:
    uniform_fraction: The chance that a hand's articulation is drawn instead with every angle
      free (`_uniform_fractions`): base flexion uniform in [−0.2, 1] of its range, abduction in
      [−0.8, 0.8], joint-1 flexion in [0, 1] and joint-2 flexion 0.7 of joint 1's fraction
      ± 0.1 (the last two joints of a finger bend together).
    prototypes: Names of `PROTOTYPES` to draw from, with equal probability.
    blend_max: The second prototype's weight is uniform in [0, blend_max].
    hand_noise: SD of a flexion offset shared by all joints.
    finger_noise: SD of a flexion offset per finger.
    joint_noise: SD of each flexion angle's own noise.
    abduction_noise: SD of each abduction angle's noise.
  """
  uniform_fraction: float = 0.0
  prototypes: tuple = CLASSIC_PROTOTYPES
  blend_max: float = 0.5
  hand_noise: float = 0.1
  finger_noise: float = 0.1
  joint_noise: float = 0.06
  abduction_noise: float = 0.12


@dataclasses.dataclass(frozen=True)
class ViewConfig:
  """Viewpoint sampling parameters.

  Attributes:
    cone_deg: Largest tilt of the palm's normal away from the optical axis (uniform on the cap).
    back_prob: Chance that the back of the hand, not the palm, faces the camera.
    roll_deg: In-plane rotation about the optical axis, uniform in ±roll_deg (fingers up at 0).
    distance_mm: (min, max) depth of the hand's centre, uniform.
    image_margin: The hand's centre projects within this fraction of the image size from the
      principal point, uniform.
    wrist_flexion_deg, wrist_deviation_deg: (min, max) bend of the forearm against the palm
      (flexion > 0 bends the palm towards its palmar side), uniform.
  """
  cone_deg: float = 50.0
  back_prob: float = 0.5
  roll_deg: float = 60.0
  distance_mm: tuple = (400.0, 800.0)
  image_margin: float = 0.2
  wrist_flexion_deg: tuple = (-40.0, 40.0)
  wrist_deviation_deg: tuple = (-20.0, 20.0)


POSE_PRESETS = {
    "prototypes": PoseConfig(),
    "broad": PoseConfig(prototypes=CLASSIC_PROTOTYPES + ("spread",), uniform_fraction=0.3),
}
"""Named articulation distributions: "prototypes" (the default: five prototype shapes blended
and perturbed) and "broad" (a "spread" prototype as well, and 30 % of the hands with every
angle free), for training sets that should cover more than the prototypes' neighbourhoods."""

VIEW_PRESETS = {
    "frontal": ViewConfig(),
    "sphere": ViewConfig(cone_deg=90.0, roll_deg=180.0),
}
"""Named viewpoint distributions (module docstring)."""


def _fraction_table(name):
  table = np.zeros(skeleton.NUM_ARTICULATIONS)
  for index, articulation in enumerate(skeleton.ARTICULATIONS):
    finger = articulation.split("_")[0]
    slot = [a for a in skeleton.ARTICULATIONS if a.startswith(finger + "_")].index(articulation)
    table[index] = PROTOTYPES[name][finger][slot]
  return table


PROTOTYPE_FRACTIONS = {name: _fraction_table(name) for name in PROTOTYPES}
"""Prototype name → `[20]` fractions in θ[6:26] order."""

IS_FLEXION = np.array([kind == skeleton.FLEXION for kind in skeleton.ARTICULATION_KINDS])
ARTICULATION_FINGER = np.array([skeleton.FINGERS.index(a.split("_")[0])
                                for a in skeleton.ARTICULATIONS])


def fractions_to_angles(fractions):
  """Range fractions `[..., 20]` → angles `[..., 20]` in radians, within the limits."""
  lower, upper = np.asarray(limits.LOWER), np.asarray(limits.UPPER)
  angles = np.where(fractions >= 0, fractions * upper, -fractions * lower)
  return np.clip(angles, lower, upper)


def _finger_slots():
  finger_of = [name.split("_")[0] for name in skeleton.ARTICULATIONS]
  return np.array([finger_of[:index].count(finger) for index, finger in enumerate(finger_of)])


_SLOT = _finger_slots()
"""Per articulation its slot in the finger's (base flexion, base abduction, joint-1 flexion,
joint-2 flexion)."""


def _uniform_fractions(num, rng):
  """`[num, 20]` range fractions with every angle free (`PoseConfig.uniform_fraction`)."""
  base = rng.uniform(-0.2, 1.0, (num, skeleton.NUM_ARTICULATIONS))
  abduction = rng.uniform(-0.8, 0.8, (num, skeleton.NUM_ARTICULATIONS))
  joint1 = rng.uniform(0.0, 1.0, (num, len(skeleton.FINGERS)))
  joint2 = 0.7 * joint1 + 0.1 * rng.standard_normal((num, len(skeleton.FINGERS)))
  by_slot = (base, abduction, joint1[:, ARTICULATION_FINGER], joint2[:, ARTICULATION_FINGER])
  return np.choose(_SLOT, by_slot)


def sample_articulations(num, config, rng):
  """Articulation angles θ[6:26] of `num` random hand shapes.

  Returns:
    `[num, 20]` radians within `limits.LOWER`/`UPPER`.
  """
  table = np.stack([PROTOTYPE_FRACTIONS[name] for name in config.prototypes])
  first = table[rng.integers(len(table), size=num)]
  second = table[rng.integers(len(table), size=num)]
  weight = rng.uniform(0.0, config.blend_max, size=(num, 1))
  fractions = (1.0 - weight) * first + weight * second
  flexion_noise = (config.hand_noise * rng.standard_normal((num, 1))
                   + config.finger_noise * rng.standard_normal(
                       (num, len(skeleton.FINGERS)))[:, ARTICULATION_FINGER]
                   + config.joint_noise * rng.standard_normal((num, skeleton.NUM_ARTICULATIONS)))
  abduction_noise = config.abduction_noise * rng.standard_normal(
      (num, skeleton.NUM_ARTICULATIONS))
  fractions = fractions + np.where(IS_FLEXION, flexion_noise, abduction_noise)
  if config.uniform_fraction > 0.0:
    # Drawn only when asked for, so that the default distribution's random stream (and every
    # frame made from it) stays as it was.
    free = rng.uniform(size=(num, 1)) < config.uniform_fraction
    fractions = np.where(free, _uniform_fractions(num, rng), fractions)
  return fractions_to_angles(fractions)


def sample_rotations(num, config, rng):
  """Global rotations of the rest hand (palm to the camera, fingers up) for `num` views.

  R = R_roll · R_tilt · R_side: R_side turns the back of the hand to the camera (180° about
  the image's vertical axis) with probability `back_prob`; R_tilt tilts by an angle uniform on
  the spherical cap of half-angle `cone_deg` about a random axis in the image plane; R_roll
  rotates about the optical axis.

  Returns:
    `[num, 3, 3]` rotation matrices (camera frame).
  """
  back = rng.uniform(size=num) < config.back_prob
  side = transform.Rotation.from_rotvec(np.pi * back[:, None] * np.array([0.0, 1.0, 0.0]))
  cos_tilt = rng.uniform(np.cos(np.radians(config.cone_deg)), 1.0, size=num)
  azimuth = rng.uniform(0.0, 2.0 * np.pi, size=num)
  tilt_axis = np.stack([np.cos(azimuth), np.sin(azimuth), np.zeros(num)], axis=-1)
  tilt = transform.Rotation.from_rotvec(np.arccos(cos_tilt)[:, None] * tilt_axis)
  roll_angle = np.radians(rng.uniform(-config.roll_deg, config.roll_deg, size=num))
  roll = transform.Rotation.from_rotvec(roll_angle[:, None] * np.array([0.0, 0.0, 1.0]))
  return (roll * tilt * side).as_matrix()


def rotation_to_euler(rotations):
  """Rotation matrices `[N, 3, 3]` → θ[3:6] Euler angles `[N, 3]` of `kinematics` (R = Rz·Ry·Rx,
  extrinsic x, y, z: scipy's lower-case "xyz")."""
  return transform.Rotation.from_matrix(rotations).as_euler("xyz")


def sample_centres(num, intrinsics, image_size, config, rng):
  """Camera-frame positions (mm) of the hands' centres: depth uniform in `distance_mm`, the
  projection uniform within `image_margin` of the principal point.

  Args:
    intrinsics: `[4]` (fx, fy, cx, cy); image_size: (height, width).

  Returns:
    `[num, 3]` mm.
  """
  fx, fy = intrinsics[0], intrinsics[1]
  height, width = image_size
  depth = rng.uniform(*config.distance_mm, size=num)
  du = rng.uniform(-1.0, 1.0, size=num) * config.image_margin * width
  dv = rng.uniform(-1.0, 1.0, size=num) * config.image_margin * height
  return np.stack([du * depth / fx, dv * depth / fy, depth], axis=-1)


def forearm_directions(palm_axes, config, rng):
  """Unit directions from the wrist to the elbow, per frame, for random wrist angles.

  Args:
    palm_axes: `[N, 3, 3]` palm frames (`surface.palm_frame`: columns distal, side, dorsal).

  Returns:
    `[N, 3]`: `forearm_from_angles` of a wrist flexion and deviation uniform in the config's
    ranges.
  """
  num = palm_axes.shape[0]
  flexion = np.radians(rng.uniform(*config.wrist_flexion_deg, size=num))
  deviation = np.radians(rng.uniform(*config.wrist_deviation_deg, size=num))
  return forearm_from_angles(palm_axes, flexion, deviation)


def forearm_from_angles(palm_axes, flexion, deviation):
  """Unit directions from the wrist to the elbow for given wrist angles.

  Args:
    palm_axes: `[N, 3, 3]` palm frames (`surface.palm_frame`: columns distal, side, dorsal).
    flexion: `[N]` radians (> 0 bends the palm towards its palmar side).
    deviation: `[N]` radians.

  Returns:
    `[N, 3]`: −distal bent by the flexion about the side axis and the deviation about the
    dorsal axis.
  """
  distal, side, dorsal = palm_axes[:, :, 0], palm_axes[:, :, 1], palm_axes[:, :, 2]
  # In the palm frame the forearm points along −distal; a flexed wrist (palm bent palmar)
  # tips it towards the palmar side, −dorsal; deviation tips it sideways.
  return ((-np.cos(flexion) * np.cos(deviation))[:, None] * distal
          - (np.sin(flexion) * np.cos(deviation))[:, None] * dorsal
          + np.sin(deviation)[:, None] * side)
