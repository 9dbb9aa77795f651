"""One frame: a subject, a pose, a forearm and a viewpoint drawn, the hand rendered, sensed and
labelled.

Frame k of a run seeded s draws only from the generator seeded (s, k), so any frame can be
regenerated on its own; subject j of the run is `anatomy.make_subject(s, j)`.
"""

import dataclasses

import numpy as np

from independent_hand import anatomy
from independent_hand import body as body_lib
from independent_hand import kinematics
from independent_hand import names
from independent_hand import poses
from independent_hand import raycast
from independent_hand import sensor
from independent_hand import views

FOREARM_LENGTH_MM = (110.0, 320.0)
"""Visible forearm length, uniform per frame (a sleeve or the image edge cuts it)."""
FOREARM_MAX_TOWARDS = 0.25
WRIST_TRIES = 30
"""The camera stands in front of the person: of up to `WRIST_TRIES` wrist angles the first whose
forearm runs towards the camera by at most `FOREARM_MAX_TOWARDS` (the z component of its unit
direction from the wrist ≥ −0.25) is kept, else the one whose forearm recedes most (fingers
pointing straight away leave no other choice)."""
VISIBLE_MARGIN_MM = 10.0
"""A keypoint is visible when no surface lies more than (its skin depth + this) in front."""


@dataclasses.dataclass
class Frame:
  """A rendered frame.

  Attributes:
    depth: `[H, W]` measured depth, whole mm, 0 = no measurement.
    clean: `[H, W]` the clean z-buffer, mm.
    xyz: `[21, 3]` the joint centres in the camera frame, mm.
    uv: `[21, 2]` their projections, pixels.
    visible: `[21]` int, 1 where the keypoint is not hidden behind another part.
    subject: The `anatomy.Subject`.
    pose: The `poses.Pose`.
    body: The `body_lib.Body` in the camera frame.
    meta: The view's JSON-ready metadata (`views.labels` and the pose's angles).
  """
  depth: np.ndarray
  clean: np.ndarray
  xyz: np.ndarray
  uv: np.ndarray
  visible: np.ndarray
  subject: anatomy.Subject
  pose: poses.Pose
  body: body_lib.Body
  meta: dict


def frame_generator(seed, index):
  """The NumPy generator of frame `index` of a run seeded `seed`."""
  return np.random.default_rng([int(seed), int(index)])


def visibility(clean, uv, xyz, joint_radii):
  """`[21]` int: 1 where the nearest surface at the keypoint's pixel is at most its skin depth
  + `VISIBLE_MARGIN_MM` in front of it."""
  height, width = clean.shape
  columns = np.clip(np.rint(uv[:, 0]).astype(int), 0, width - 1)
  rows = np.clip(np.rint(uv[:, 1]).astype(int), 0, height - 1)
  surface = clean[rows, columns]
  return ((surface > 0) & (surface >= xyz[:, 2] - joint_radii - VISIBLE_MARGIN_MM)).astype(int)


def _wrist_for_view(rng, pose, rotation):
  best, best_z = None, -np.inf
  for _ in range(WRIST_TRIES):
    wrist = poses.sample_wrist(rng)
    direction = -(rotation @ kinematics.forearm_frame(*wrist))[:, 1]
    if direction[2] >= -FOREARM_MAX_TOWARDS:
      best = wrist
      break
    if direction[2] > best_z:
      best, best_z = wrist, direction[2]
  return dataclasses.replace(pose, wrist_flexion_deg=best[0], wrist_deviation_deg=best[1])


def sample_frame(seed, index, num_subjects, view_mode, camera=raycast.Camera(),
                 sensor_config=sensor.SensorConfig(), render=True):
  """Draws and renders frame `index` of the run seeded `seed`.

  Args:
    seed: The run's seed.
    index: The frame's index.
    num_subjects: Subjects of the run; the frame's subject is drawn among them.
    view_mode: A name of `views.VIEW_MODES`.
    camera: A `raycast.Camera`.
    sensor_config: A `sensor.SensorConfig`.
    render: False skips the ray casting (depth and clean are then empty `[0, 0]`).

  Returns:
    A `Frame`.
  """
  rng = frame_generator(seed, index)
  subject = anatomy.make_subject(seed, rng.integers(num_subjects))
  rotation = views.sample_rotation(rng, view_mode)
  pose = _wrist_for_view(rng, poses.sample_pose(rng), rotation)
  forearm_mm = rng.uniform(*FOREARM_LENGTH_MM)
  hand_body, points = body_lib.build(subject, pose, forearm_mm)
  translation = views.place(rng, camera, rotation, points)
  xyz = points @ rotation.T + translation
  placed = hand_body.moved(rotation, translation)
  uv = camera.project(xyz)
  meta = views.labels(camera, xyz, rotation)
  meta.update(pose=pose.kind, forearm_length_mm=float(forearm_mm),
              wrist_flexion_deg=pose.wrist_flexion_deg,
              wrist_deviation_deg=pose.wrist_deviation_deg, subject=subject.as_json())
  if not render:
    empty = np.zeros((0, 0))
    return Frame(empty, empty, xyz, uv, np.ones(names.NUM_KEYPOINTS, int), subject, pose,
                 placed, meta)
  clean, cosine = raycast.render(placed, camera)
  depth = sensor.apply(rng, clean, cosine, sensor_config)
  return Frame(depth, clean, xyz, uv, visibility(clean, uv, xyz, hand_body.joint_radii),
               subject, pose, placed, meta)
