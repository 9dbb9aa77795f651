"""This package's own pose distribution: six kinds of hand posture and a wrist.

A pose holds, per finger, (base flexion, base abduction, joint-1 flexion, joint-2 flexion) in
degrees (thumb: CMC flexion, CMC abduction, MCP, IP; the others: MCP flexion, MCP abduction,
PIP, DIP), and the wrist's flexion and deviation, which set the forearm's direction.

The kinds (`KIND_WEIGHTS`): "open" (flat, fingers together), "spread" (fingers and thumb
apart), "fist", "point" (index out, the others curled), "pinch" (thumb and index tips
together, the other three relaxed) and "random" (every joint uniform within `LIMITS_DEG`, the
last joint coupled to the middle one as tendons couple them). The thumb's angles were set by a
grid search over its joints: in "pinch" its tip centre lies 14 mm (two pulps) from the index
tip's, in "fist" and "point" its pulp rests on the curled index and middle fingers. Named kinds
get Gaussian noise of `NOISE_DEG` on every angle. All angles are clipped to `LIMITS_DEG`.

Thumb semantics (`kinematics`): CMC flexion swings the thumb across the palm towards the little
finger; positive CMC abduction lifts it out of the palm plane towards the palmar side (palmar
abduction), negative brings it into the plane beside the index.
"""

import dataclasses

import numpy as np

from independent_hand import names

LIMITS_DEG = {
    "thumb": ((-20.0, 55.0), (-25.0, 45.0), (-10.0, 60.0), (-15.0, 80.0)),
    "finger": ((-25.0, 90.0), (-18.0, 18.0), (0.0, 105.0), (-5.0, 80.0)),
    "wrist": ((-60.0, 65.0), (-30.0, 20.0)),
}
"""Lower and upper limits of each angle, degrees (own round values of active ranges of motion)."""

_OPEN = (4.0, 0.0, 6.0, 4.0)
_CURLED = (86.0, 0.0, 102.0, 68.0)
_RELAXED = (30.0, 0.0, 40.0, 25.0)
PROTOTYPES_DEG = {
    "open": {"thumb": (0.0, -10.0, 5.0, 5.0), "index": _OPEN, "middle": _OPEN, "ring": _OPEN,
             "little": _OPEN},
    "spread": {"thumb": (-18.0, -8.0, 0.0, 0.0), "index": (0.0, 14.0, 4.0, 2.0),
               "middle": (0.0, 1.0, 4.0, 2.0), "ring": (2.0, -12.0, 4.0, 2.0),
               "little": (4.0, -17.0, 4.0, 2.0)},
    "fist": {"thumb": (10.0, 25.0, 45.0, 60.0), "index": _CURLED, "middle": _CURLED,
             "ring": _CURLED, "little": _CURLED},
    "point": {"thumb": (10.0, 25.0, 45.0, 60.0), "index": (2.0, 2.0, 6.0, 4.0),
              "middle": _CURLED, "ring": _CURLED, "little": _CURLED},
    "pinch": {"thumb": (30.0, 10.0, 0.0, 5.0), "index": (45.0, -2.0, 50.0, 25.0),
              "middle": _RELAXED, "ring": _RELAXED, "little": _RELAXED},
}
"""Mean angles of the named kinds, per finger, degrees."""

KIND_WEIGHTS = {"open": 0.14, "spread": 0.14, "fist": 0.15, "point": 0.15, "pinch": 0.14,
                "random": 0.28}
NOISE_DEG = 7.0
DIP_COUPLING = 0.65
"""In "random" poses, joint-2 flexion ≈ this × joint-1 flexion (± 12°)."""


@dataclasses.dataclass(frozen=True)
class Pose:
  """A hand posture.

  Attributes:
    kind: A name of `KIND_WEIGHTS`.
    fingers: `{finger: (4 angles)}` in degrees (module docstring).
    wrist_flexion_deg: Palmar flexion (+) or extension (−) of the wrist.
    wrist_deviation_deg: Radial (+) or ulnar (−) deviation of the wrist.
  """
  kind: str
  fingers: dict
  wrist_flexion_deg: float
  wrist_deviation_deg: float


def _limits(finger):
  return np.array(LIMITS_DEG["thumb" if finger == "thumb" else "finger"])


def _random_angles(rng, finger):
  low, high = _limits(finger).T
  angles = rng.uniform(low, high)
  angles[3] = DIP_COUPLING * angles[2] + rng.normal(0.0, 12.0)
  return angles


def sample_pose(rng, kind=None):
  """Draws a pose (`kind` None: a kind by `KIND_WEIGHTS`) with the generator `rng`."""
  if kind is None:
    kinds = list(KIND_WEIGHTS)
    kind = kinds[rng.choice(len(kinds), p=np.array(list(KIND_WEIGHTS.values())))]
  if kind != "random" and kind not in PROTOTYPES_DEG:
    raise ValueError(f"unknown pose kind {kind!r}; kinds: {list(KIND_WEIGHTS)}")
  fingers = {}
  for finger in names.FINGERS:
    if kind == "random":
      angles = _random_angles(rng, finger)
    else:
      angles = np.array(PROTOTYPES_DEG[kind][finger]) + rng.normal(0.0, NOISE_DEG, 4)
    low, high = _limits(finger).T
    fingers[finger] = tuple(float(a) for a in np.clip(angles, low, high))
  return Pose(kind, fingers, *sample_wrist(rng))


def sample_wrist(rng):
  """(flexion, deviation) of the wrist in degrees, uniform within `LIMITS_DEG["wrist"]`."""
  (flex_low, flex_high), (dev_low, dev_high) = LIMITS_DEG["wrist"]
  return float(rng.uniform(flex_low, flex_high)), float(rng.uniform(dev_low, dev_high))
