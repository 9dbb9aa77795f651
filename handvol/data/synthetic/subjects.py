"""Synthetic subjects (distinct hands) and the named sets they are grouped in.

A subject is drawn reproducibly from its id: bone-length coefficients β from the bone-length
prior (β ~ N(0, I), truncated), an overall skin-width factor and one per finger. Subject ids are
global, so that a subject means the same hand in every set and every run.
"""

import dataclasses

import numpy as np

from handvol.hand import bone_lengths
from handvol.hand import skeleton

SUBJECT_SEED = 20200716
"""Root seed of the subject draws (subject i uses the stream (SUBJECT_SEED, i))."""

BETA_TRUNCATION = 2.5
"""|β_i| is redrawn above this, keeping hands within the prior's plausible range."""
WIDTH_SD = 0.07
"""SD of a subject's overall skin-width factor (≈ 1.4 mm on a 20 mm finger)."""
FINGER_WIDTH_SD = 0.04
"""SD of each finger's own width factor on top of the overall one."""
PALM_THICKNESS_SD = 0.08
"""SD of the palm-thickness factor."""

SUBJECT_SETS = {
    # One training subject, as NYU's training set.
    "nyu_like": (0,),
    # Seven subjects with 6-keypoint labels, as the paper's HandID.
    "handid_like": (1, 2, 3, 4, 5, 6, 7),
    # Two subjects no training set contains, as NYU's test set.
    "unseen_test": (8, 9),
}
"""Named sets of subject ids; `subject_set` also accepts an explicit tuple of ids."""


@dataclasses.dataclass(frozen=True)
class Subject:
  """One synthetic hand.

  Attributes:
    subject_id: Global id (the record's "subject").
    beta: `[20]` bone-length coefficients.
    lengths: `[20]` bone lengths in mm (bone order of `skeleton.BONE_NAMES`).
    bone_radius_scale: `[20]` factors on `surface.BONE_RADII` (finger widths).
    palm_thickness_scale: Factor on the palm's thickness and the forearm's radii.
  """
  subject_id: int
  beta: np.ndarray
  lengths: np.ndarray
  bone_radius_scale: np.ndarray
  palm_thickness_scale: float


def _truncated_normal(rng, size, limit):
  values = rng.standard_normal(size)
  while np.any(np.abs(values) > limit):
    outside = np.abs(values) > limit
    values[outside] = rng.standard_normal(np.count_nonzero(outside))
  return values


def make_subject(subject_id, bone_model=None):
  """The subject with this id (deterministic).

  Args:
    subject_id: A non-negative int.
    bone_model: A `bone_lengths.BoneLengthModel`; the shipped default when None.

  Returns:
    A `Subject`. Skin widths grow with the square root of the hand's size (mean length ratio),
    so bigger hands have somewhat thicker fingers.
  """
  model = bone_model or bone_lengths.default_bone_model()
  rng = np.random.default_rng([SUBJECT_SEED, int(subject_id)])
  beta = _truncated_normal(rng, skeleton.NUM_BETA, BETA_TRUNCATION)
  lengths = np.asarray(model.mean) + np.asarray(model.basis) @ beta
  size = np.sqrt(np.mean(lengths / np.asarray(model.mean)))
  overall = 1.0 + WIDTH_SD * _truncated_normal(rng, 1, BETA_TRUNCATION)[0]
  finger = 1.0 + FINGER_WIDTH_SD * _truncated_normal(rng, len(skeleton.FINGERS),
                                                     BETA_TRUNCATION)
  radius_scale = size * overall * finger[list(skeleton.BONE_FINGER)]
  palm = size * (1.0 + PALM_THICKNESS_SD * _truncated_normal(rng, 1, BETA_TRUNCATION)[0])
  return Subject(subject_id=int(subject_id), beta=beta, lengths=lengths,
                 bone_radius_scale=radius_scale, palm_thickness_scale=float(palm))


def subject_ids(name_or_ids):
  """The ids (a tuple of int) of a named set (`SUBJECT_SETS`) or of an explicit sequence."""
  if isinstance(name_or_ids, str):
    if name_or_ids not in SUBJECT_SETS:
      raise ValueError(f"unknown subject set {name_or_ids!r}; known: {sorted(SUBJECT_SETS)}")
    return SUBJECT_SETS[name_or_ids]
  return tuple(int(i) for i in name_or_ids)


def subject_set(name_or_ids, bone_model=None):
  """The subjects of a named set (`SUBJECT_SETS`) or of an explicit sequence of ids.

  Returns:
    A tuple of `Subject`.
  """
  return tuple(make_subject(i, bone_model) for i in subject_ids(name_or_ids))
