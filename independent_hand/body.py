"""The hand's surface as a union of quadric primitives: ellipsoids and elliptic frusta.

- Palm: five ellipsoids (palm body, knuckle ridge, thenar and hypothenar eminences, carpus),
  and a flat one for the first web space between thumb and index that follows the thumb.
- Fingers: per segment an elliptic frustum (flat section, half-depth `SECTION_DEPTH_RATIO` of the
  half-width, tapering per segment), an ellipsoid "knuckle" at every joint, and a fingertip
  ellipsoid centred on the tip keypoint reaching `TIP_CAP_MM` beyond it.
- Forearm: an elliptic frustum widening away from the wrist, closed at both ends by ellipsoids.

The renderer intersects a frustum's side only, so every end disc of a frustum lies inside an
ellipsoid (a knuckle, a fingertip, the wrist or the stump) at least `KNUCKLE_INFLATE` its size.

An elliptic frustum in its own frame (columns of `axes`: the a-axis, the b-axis and its axis,
origin at the centre of its proximal section) is the set 0 ≤ z ≤ L,
(x/a0)² + (y/b0)² ≤ (1 + k·z)² with k = (ratio − 1)/L: a section of half-axes a0, b0 at z = 0
and ratio·(a0, b0) at z = L. Every joint centre lies inside the union by construction (at the
centre of an ellipsoid); `tests/independent_hand` checks it.
"""

import dataclasses

import numpy as np

from independent_hand import anatomy
from independent_hand import kinematics
from independent_hand import names

PALM_ELLIPSOIDS = {
    # name: (centre (radial, distal, palmar) mm, half-axes mm, in-plane turn degrees)
    "palm": ((-1.0, 50.0, 1.5), (37.0, 44.0, 13.5), 0.0),
    "knuckles": ((-1.0, 81.0, 0.5), (40.0, 12.0, 11.5), 12.0),
    "thenar": ((17.0, 36.0, 9.0), (15.0, 27.0, 12.0), 30.0),
    "hypothenar": ((-23.0, 42.0, 6.0), (13.0, 32.0, 11.5), 0.0),
    "carpus": ((0.0, 6.0, 0.5), (27.0, 22.0, 16.5), 0.0),
}
"""The palm's ellipsoids at scale 1: radial sizes × palm width, palmar × palm thickness."""

FOREARM_SECTION_MM = (25.0, 17.0)
"""Radial half-width and palmar half-depth of the forearm at the wrist (scale 1)."""
FOREARM_RATIO = 1.3
"""Forearm section at its far end over that at the wrist."""
WEB_HALF_THICKNESS_MM = 7.0
"""Half thickness of the first web space (the skin between thumb and index), scale 1."""
KNUCKLE_INFLATE = 1.06
"""A joint's knuckle ellipsoid over the larger of the two sections that meet there."""


@dataclasses.dataclass
class Body:
  """Primitives in one frame (the hand frame or the camera frame), mm.

  Attributes:
    ellipsoid_centres: `[E, 3]`.
    ellipsoid_axes: `[E, 3, 3]`, columns the unit half-axis directions.
    ellipsoid_radii: `[E, 3]` half-axis lengths.
    frustum_origins: `[F, 3]` centre of the proximal section.
    frustum_axes: `[F, 3, 3]`, columns the a-axis, b-axis and axis directions.
    frustum_sections: `[F, 2]` (a0, b0) at the origin.
    frustum_lengths: `[F]` L.
    frustum_ratios: `[F]` distal over proximal section.
    joint_radii: `[21]` the largest half-axis of each keypoint's own ellipsoid: how deep under
      the skin the keypoint can lie (for visibility), mm.
  """
  ellipsoid_centres: np.ndarray
  ellipsoid_axes: np.ndarray
  ellipsoid_radii: np.ndarray
  frustum_origins: np.ndarray
  frustum_axes: np.ndarray
  frustum_sections: np.ndarray
  frustum_lengths: np.ndarray
  frustum_ratios: np.ndarray
  joint_radii: np.ndarray

  def moved(self, rotation, translation):
    """The body under x ↦ rotation·x + translation (`[3, 3]`, `[3]` mm)."""
    return dataclasses.replace(
        self,
        ellipsoid_centres=self.ellipsoid_centres @ rotation.T + translation,
        ellipsoid_axes=rotation @ self.ellipsoid_axes,
        frustum_origins=self.frustum_origins @ rotation.T + translation,
        frustum_axes=rotation @ self.frustum_axes)


def _palm(subject):
  ellipsoids = []
  factor = subject.scale * np.array([subject.palm_width, 1.0, subject.palm_thickness])
  for centre, radii, turn in PALM_ELLIPSOIDS.values():
    axes = kinematics.axis_rotation(anatomy.PALMAR, turn)
    ellipsoids.append((factor * np.array(centre), axes, factor * np.array(radii)))
  return ellipsoids


def _finger(subject, finger, points, frames):
  # Frusta along the three segments, a knuckle at each of their starts, a fingertip cap.
  ellipsoids, frusta = [], []
  widths = anatomy.segment_half_widths(subject, finger)
  lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
  radial_axes = np.array([0, 2, 1])  # (radial, palmar, distal) columns of a segment frame
  for k, (frame, width) in enumerate(zip(frames, widths)):
    section = np.array([width, anatomy.SECTION_DEPTH_RATIO * width])
    frusta.append((points[k], frame[:, radial_axes], section, lengths[k],
                   anatomy.SEGMENT_TAPER[k]))
    previous = (widths[k - 1] * anatomy.SEGMENT_TAPER[k - 1]) if k else width
    knuckle = KNUCKLE_INFLATE * max(width, previous)
    ellipsoids.append((points[k], frame, knuckle * np.array(
        [1.0, 0.9, anatomy.SECTION_DEPTH_RATIO])))
  tip = KNUCKLE_INFLATE * widths[-1] * anatomy.SEGMENT_TAPER[-1]
  cap = np.array([tip, anatomy.TIP_CAP_MM * subject.scale, anatomy.SECTION_DEPTH_RATIO * tip])
  ellipsoids.append((points[-1], frames[-1], cap))
  radii = [max(e[2]) for e in ellipsoids]
  return ellipsoids, frusta, radii


def _web(subject, thumb, index_mcp):
  # The first web space: a flat ellipsoid spanning the thumb MCP, the index MCP and the thumb
  # CMC, so that the thumb grows out of the hand rather than from the wrist; it follows the
  # thumb's pose.
  cmc, mcp = thumb[0], thumb[1]
  span = index_mcp - mcp
  long_axis = span / np.linalg.norm(span)
  normal = np.cross(span, cmc - mcp)
  if np.linalg.norm(normal) < 1e-6 * np.linalg.norm(span) ** 2:
    normal = anatomy.PALMAR - (anatomy.PALMAR @ long_axis) * long_axis
  normal /= np.linalg.norm(normal)
  centre = 0.4 * mcp + 0.4 * index_mcp + 0.2 * cmc
  across = np.cross(normal, long_axis)
  reach = abs((cmc - centre) @ across)
  radii = np.array([0.5 * np.linalg.norm(span), max(reach, 8.0 * subject.scale),
                    WEB_HALF_THICKNESS_MM * subject.scale * subject.palm_thickness])
  return centre, np.stack([long_axis, across, normal], axis=1), radii


def _forearm(subject, pose, length_mm):
  frame = kinematics.forearm_frame(pose.wrist_flexion_deg, pose.wrist_deviation_deg)
  axes = np.stack([frame[:, 0], frame[:, 2], -frame[:, 1]], axis=1)
  section = subject.scale * subject.forearm_thickness * np.array(FOREARM_SECTION_MM)
  end = length_mm * axes[:, 2]
  # Ellipsoids close both ends of the frustum (its flat end discs are not rendered).
  wrist = (np.zeros(3), axes,
           KNUCKLE_INFLATE * np.array([section[0], section[1], 0.6 * section[0]]))
  stump = (end, axes, np.array([section[0], section[1], 0.25 * section[0]]) * FOREARM_RATIO)
  return [wrist, stump], (np.zeros(3), axes, section, length_mm, FOREARM_RATIO)


def build(subject, pose, forearm_length_mm):
  """The hand of `subject` in `pose` with a forearm `forearm_length_mm` long, hand frame.

  Returns:
    A `Body` (hand frame, mm) and the keypoints `[21, 3]` (hand frame, mm).
  """
  points, frames = kinematics.keypoints(subject, pose)
  ellipsoids = _palm(subject)
  caps, forearm = _forearm(subject, pose, forearm_length_mm)
  ellipsoids += caps
  ellipsoids.append(_web(subject, points[list(names.FINGER_KEYPOINTS["thumb"])],
                         points[names.FINGER_KEYPOINTS["index"][0]]))
  frusta = [forearm]
  joint_radii = np.zeros(names.NUM_KEYPOINTS)
  joint_radii[names.WRIST] = subject.scale * PALM_ELLIPSOIDS["carpus"][1][2]
  for finger in names.FINGERS:
    chain = list(names.FINGER_KEYPOINTS[finger])
    more_ellipsoids, more_frusta, radii = _finger(subject, finger, points[chain],
                                                  frames[finger])
    ellipsoids += more_ellipsoids
    frusta += more_frusta
    joint_radii[chain] = radii
  body = Body(
      ellipsoid_centres=np.array([e[0] for e in ellipsoids]),
      ellipsoid_axes=np.array([e[1] for e in ellipsoids]),
      ellipsoid_radii=np.array([e[2] for e in ellipsoids]),
      frustum_origins=np.array([f[0] for f in frusta]),
      frustum_axes=np.array([f[1] for f in frusta]),
      frustum_sections=np.array([f[2] for f in frusta]),
      frustum_lengths=np.array([f[3] for f in frusta]),
      frustum_ratios=np.array([f[4] for f in frusta]),
      joint_radii=joint_radii)
  return body, points


def inside(body, points):
  """Whether each point lies inside the body (strictly inside some primitive).

  Args:
    body: A `Body`.
    points: `[N, 3]` points in the body's frame, mm.

  Returns:
    `[N]` bool.
  """
  points = np.asarray(points, np.float64)
  if points.ndim != 2 or points.shape[1] != 3:
    raise ValueError(f"points must have shape [N, 3] (mm), got {points.shape}")
  local = np.einsum("eji,nej->nei", body.ellipsoid_axes,
                    points[:, None, :] - body.ellipsoid_centres[None])
  in_ellipsoid = np.sum((local / body.ellipsoid_radii) ** 2, axis=-1) < 1.0
  local = np.einsum("fji,nfj->nfi", body.frustum_axes,
                    points[:, None, :] - body.frustum_origins[None])
  slope = (body.frustum_ratios - 1.0) / body.frustum_lengths
  scaled = local[..., :2] / body.frustum_sections
  along = local[..., 2]
  in_frustum = ((np.sum(scaled ** 2, axis=-1) < (1.0 + slope * along) ** 2)
                & (along > 0.0) & (along < body.frustum_lengths))
  return np.any(in_ellipsoid, axis=1) | np.any(in_frustum, axis=1)
