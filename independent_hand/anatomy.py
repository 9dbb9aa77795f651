"""Proportions of this package's own hand, and the subjects that vary them.

Hand frame: origin at the wrist joint centre (the radiocarpal joint, inside the wrist), axes
`RADIAL` (towards the thumb), `DISTAL` (towards the fingers) and `PALMAR` (out of the palm);
for a right hand RADIAL = DISTAL × PALMAR, so (RADIAL, DISTAL, PALMAR) is a right-handed frame
and a vector is written as its (radial, distal, palmar) components in mm.

The numbers are round values for an adult hand of about 190 mm (wrist crease to the middle
fingertip) and 85 mm breadth across the knuckles, chosen for this renderer by eye from hand
photographs and radiographs; they deliberately differ from handvol's generator (different
metacarpal spread, a thumb CMC further out and palmar, elliptical finger sections that taper
per segment, thicker proximal segments).
"""

import dataclasses

import numpy as np

from independent_hand import names

RADIAL = np.array([1.0, 0.0, 0.0])
DISTAL = np.array([0.0, 1.0, 0.0])
PALMAR = np.array([0.0, 0.0, 1.0])

BASE_JOINT_MM = {
    "thumb": (21.0, 24.0, 10.0),
    "index": (26.0, 87.0, 1.0),
    "middle": (7.5, 90.0, 0.0),
    "ring": (-11.0, 85.0, 0.5),
    "little": (-28.0, 76.0, 2.0),
}
"""Per finger, its base joint (thumb CMC, finger MCP) in the hand frame, mm, scale 1."""

SEGMENT_LENGTH_MM = {
    "thumb": (46.0, 33.0, 26.0),
    "index": (43.0, 25.0, 20.0),
    "middle": (47.0, 29.0, 21.0),
    "ring": (44.0, 28.0, 21.0),
    "little": (35.0, 21.0, 18.5),
}
"""Per finger, the three moving segments (base joint → joint 1 → joint 2 → tip keypoint), mm.

The tip keypoint is the centre of the fingertip's pulp: the skin ends `TIP_CAP_MM` beyond it."""

SEGMENT_HALF_WIDTH_MM = {
    "thumb": (12.0, 10.5, 9.5),
    "index": (10.0, 8.6, 7.6),
    "middle": (10.4, 9.0, 7.9),
    "ring": (9.7, 8.4, 7.4),
    "little": (8.4, 7.3, 6.6),
}
"""Per finger and segment, the radial half-width of its skin at the proximal end (mm)."""

SEGMENT_TAPER = (0.88, 0.9, 0.86)
"""Distal/proximal width ratio of the proximal, middle and distal segments."""
SECTION_DEPTH_RATIO = 0.84
"""Palmar–dorsal half-depth over radial half-width of a finger section (fingers are flat)."""
TIP_CAP_MM = 5.0
"""Skin beyond the tip keypoint along the distal segment (the keypoint lies inside the pulp)."""

REST_SPREAD_DEG = {"index": 6.0, "middle": 0.0, "ring": -5.0, "little": -12.0}
"""In-plane direction of each finger at rest, degrees from DISTAL towards RADIAL."""
THUMB_REST_DEG = {"spread": 40.0, "elevation": 15.0, "pronation": -70.0}
"""The thumb metacarpal at rest: turned from DISTAL towards RADIAL, lifted out of the palm
plane towards PALMAR, and pronated about itself so that its pulp faces the fingers."""


@dataclasses.dataclass(frozen=True)
class Subject:
  """One person's hand: a scale and shape factors (all dimensionless, 1 = the tables).

  Attributes:
    subject_id: Integer id (the `subject` of the capture format).
    scale: Overall size, 0.8–1.2, on every length and width.
    finger_thickness: Extra factor on finger widths, 0.82–1.22.
    palm_width: Factor on the radial spread of the base joints and the palm's width.
    palm_thickness: Factor on the palm's palmar–dorsal thickness.
    forearm_thickness: Factor on the forearm's section.
    finger_length: Per finger (thumb first) factor on its segment lengths.
  """
  subject_id: int
  scale: float
  finger_thickness: float
  palm_width: float
  palm_thickness: float
  forearm_thickness: float
  finger_length: tuple

  def as_json(self):
    """The subject as a JSON-ready dict."""
    return {key: (list(value) if isinstance(value, tuple) else value)
            for key, value in dataclasses.asdict(self).items()}


def make_subject(seed, subject_id):
  """Draws subject `subject_id` of the run seeded `seed` (the same inputs, the same hand)."""
  rng = np.random.default_rng([int(seed), 7919, int(subject_id)])
  return Subject(
      subject_id=int(subject_id),
      scale=float(rng.uniform(0.8, 1.2)),
      finger_thickness=float(rng.uniform(0.82, 1.22)),
      palm_width=float(rng.uniform(0.88, 1.14)),
      palm_thickness=float(rng.uniform(0.85, 1.2)),
      forearm_thickness=float(rng.uniform(0.85, 1.2)),
      finger_length=tuple(float(v) for v in rng.uniform(0.93, 1.07, len(names.FINGERS))))


def base_joint(subject, finger):
  """The finger's base joint in the hand frame, mm `[3]` (radial coordinate × palm width)."""
  radial, distal, palmar = BASE_JOINT_MM[finger]
  return subject.scale * np.array(
      [radial * subject.palm_width, distal, palmar * subject.palm_thickness])


def segment_lengths(subject, finger):
  """The finger's three segment lengths, mm `[3]`."""
  factor = subject.scale * subject.finger_length[names.FINGERS.index(finger)]
  return factor * np.array(SEGMENT_LENGTH_MM[finger])


def segment_half_widths(subject, finger):
  """The finger's segments' proximal radial half-widths, mm `[3]`."""
  return (subject.scale * subject.finger_thickness
          * np.array(SEGMENT_HALF_WIDTH_MM[finger]))
