"""Forward kinematics of this package's hand: joint angles (degrees) → keypoints and segment
frames in the hand frame (mm; `anatomy` defines the frame).

A segment frame is a 3×3 matrix whose columns are the segment's own radial, distal and palmar
axes in the hand frame. Flexion turns a segment's distal axis towards its palmar axis (a
positive rotation about its radial axis); abduction turns it towards its radial axis.
"""

import numpy as np

from independent_hand import anatomy
from independent_hand import names


def axis_rotation(axis, angle_deg):
  """The 3×3 rotation by `angle_deg` degrees about the unit vector `axis` `[3]` (Rodrigues)."""
  axis = np.asarray(axis, np.float64)
  angle = np.radians(angle_deg)
  cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]],
                    [-axis[1], axis[0], 0.0]])
  return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * cross @ cross


def _local(frame, axis, angle_deg):
  # A rotation about one of the frame's own axes (an intrinsic rotation).
  return frame @ axis_rotation(axis, angle_deg)


def base_frame(finger):
  """The rest frame of the finger's first moving segment, `[3, 3]` (columns radial, distal,
  palmar of the segment in the hand frame)."""
  if finger == "thumb":
    rest = anatomy.THUMB_REST_DEG
    frame = _local(np.eye(3), anatomy.PALMAR, -rest["spread"])
    frame = _local(frame, anatomy.RADIAL, rest["elevation"])
    return _local(frame, anatomy.DISTAL, rest["pronation"])
  return _local(np.eye(3), anatomy.PALMAR, -anatomy.REST_SPREAD_DEG[finger])


def finger_chain(subject, finger, angles_deg):
  """The finger's keypoints and segment frames.

  Args:
    subject: An `anatomy.Subject`.
    finger: A name of `names.FINGERS`.
    angles_deg: (base flexion, base abduction, joint-1 flexion, joint-2 flexion), degrees.

  Returns:
    points: `[4, 3]` the base joint, joint 1, joint 2 and the tip keypoint (hand frame, mm).
    frames: `[3, 3, 3]` the frames of the three segments that start at the first three points.
  """
  base_flexion, abduction, flexion_1, flexion_2 = angles_deg
  frame = _local(base_frame(finger), anatomy.PALMAR, -abduction)
  frames = [_local(frame, anatomy.RADIAL, base_flexion)]
  frames.append(_local(frames[0], anatomy.RADIAL, flexion_1))
  frames.append(_local(frames[1], anatomy.RADIAL, flexion_2))
  points = [anatomy.base_joint(subject, finger)]
  for frame, length in zip(frames, anatomy.segment_lengths(subject, finger)):
    points.append(points[-1] + length * frame[:, 1])
  return np.stack(points), np.stack(frames)


def forearm_frame(flexion_deg, deviation_deg):
  """The forearm's frame in the hand frame, `[3, 3]`; the forearm runs from the wrist along
  minus its distal axis (column 1).

  Palmar flexion of the wrist (positive) puts the forearm on the palmar side of the hand's
  axis; radial deviation (positive) puts it on the ulnar side.
  """
  frame = _local(np.eye(3), anatomy.PALMAR, deviation_deg)
  return _local(frame, anatomy.RADIAL, -flexion_deg)


def keypoints(subject, pose):
  """The 21 keypoints (SPEC order) in the hand frame, mm `[21, 3]`, and per finger its
  segment frames (`{finger: [3, 3, 3]}`), for a pose of `poses.Pose`."""
  points = np.zeros((names.NUM_KEYPOINTS, 3))
  frames = {}
  for finger in names.FINGERS:
    chain, frames[finger] = finger_chain(subject, finger, pose.fingers[finger])
    points[list(names.FINGER_KEYPOINTS[finger])] = chain
  return points, frames
