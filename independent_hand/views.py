"""Viewpoints: how the hand is turned and placed in front of the camera, and the view's labels.

Hand-to-camera rotations (`VIEW_MODES`):
- "sphere": uniform over all rotations (a normalised 4D Gaussian quaternion): palm, back and
  side views, fingers towards or away from the camera, any roll.
- "frontal": the palm or the back faces the camera (50 % each), tilted within `FRONTAL_TILT_DEG`
  about a random axis in the image plane, rolled within ±`FRONTAL_ROLL_DEG` (fingers up at 0).

Placement: the keypoints' mean at a depth uniform in `DEPTH_RANGE_MM`, its projection uniform
over the image less `CENTRE_MARGIN_PX`; where a keypoint would fall outside the image less
`EDGE_MARGIN_PX`, the hand slides towards the optical axis (keypoints may lie near the edge).

Labels of a view: the palm normal (the hand frame's PALMAR axis in the camera frame), the
cosine between it and the direction from the palm centre to the camera ("palm" above
`VIEW_COS`, "back" below −`VIEW_COS`, "side" between), and the roll: the image direction from
the wrist to the middle MCP, in degrees from up (−v) towards the right (+u), in (−180, 180].
"""

import numpy as np

from independent_hand import anatomy
from independent_hand import kinematics
from independent_hand import names

VIEW_MODES = ("sphere", "frontal")
DEPTH_RANGE_MM = (350.0, 800.0)
CENTRE_MARGIN_PX = 60
EDGE_MARGIN_PX = 3
FRONTAL_TILT_DEG = 35.0
FRONTAL_ROLL_DEG = 45.0
VIEW_COS = 0.5
"""|cos| of 60°: a palm or back view is seen within 60° of its normal; the rest is "side"."""

PALM_TO_CAMERA = np.diag([1.0, -1.0, -1.0])
"""Hand frame → camera frame with the palm to the camera, fingers up, thumb to the right."""
BACK_TO_CAMERA = np.diag([-1.0, -1.0, 1.0])
"""The same with the back of the hand to the camera (thumb to the left)."""


def uniform_rotation(rng):
  """A rotation matrix `[3, 3]` uniform over SO(3)."""
  w, x, y, z = rng.normal(size=4)
  norm = np.sqrt(w * w + x * x + y * y + z * z)
  w, x, y, z = w / norm, x / norm, y / norm, z / norm
  return np.array([
      [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
      [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
      [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def frontal_rotation(rng):
  """A palm or back view, tilted and rolled a little (module docstring), `[3, 3]`."""
  side = PALM_TO_CAMERA if rng.uniform() < 0.5 else BACK_TO_CAMERA
  heading = rng.uniform(0.0, 2.0 * np.pi)
  axis = np.array([np.cos(heading), np.sin(heading), 0.0])
  # Uniform on the spherical cap: cos(tilt) uniform in [cos(max), 1].
  tilt = np.degrees(np.arccos(rng.uniform(np.cos(np.radians(FRONTAL_TILT_DEG)), 1.0)))
  roll = rng.uniform(-FRONTAL_ROLL_DEG, FRONTAL_ROLL_DEG)
  return (kinematics.axis_rotation([0.0, 0.0, 1.0], roll)
          @ kinematics.axis_rotation(axis, tilt) @ side)


def sample_rotation(rng, mode):
  """A hand-to-camera rotation `[3, 3]` of view mode `mode` (a name of `VIEW_MODES`)."""
  if mode == "sphere":
    return uniform_rotation(rng)
  if mode == "frontal":
    return frontal_rotation(rng)
  raise ValueError(f"unknown view mode {mode!r}; modes: {VIEW_MODES}")


def _inside_image(camera, points):
  if np.any(points[:, 2] <= 0.0):
    return False
  uv = camera.project(points)
  return bool(np.all((uv >= EDGE_MARGIN_PX)
                     & (uv <= np.array([camera.width, camera.height]) - 1 - EDGE_MARGIN_PX)))


def place(rng, camera, rotation, keypoints_hand):
  """A translation `[3]` (mm) that puts the turned hand in view (module docstring).

  Args:
    rng: A NumPy generator.
    camera: A `raycast.Camera`.
    rotation: `[3, 3]` hand → camera rotation.
    keypoints_hand: `[21, 3]` keypoints in the hand frame, mm.
  """
  turned = keypoints_hand @ rotation.T
  centroid = turned.mean(axis=0)
  depth = rng.uniform(*DEPTH_RANGE_MM)
  pixel = rng.uniform([CENTRE_MARGIN_PX, CENTRE_MARGIN_PX],
                      [camera.width - CENTRE_MARGIN_PX, camera.height - CENTRE_MARGIN_PX])
  principal = np.array([camera.cx, camera.cy])
  for _ in range(8):
    for pull in np.linspace(1.0, 0.0, 11):
      u, v = principal + pull * (pixel - principal)
      target = depth * np.array([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, 1.0])
      if _inside_image(camera, turned - centroid + target):
        return target - centroid
    depth += 50.0
  raise ValueError(f"a hand {np.ptp(turned, axis=0)} mm wide does not fit the image")


def labels(camera, camera_keypoints, rotation):
  """The view labels of a placed hand (module docstring).

  Args:
    camera: A `raycast.Camera`.
    camera_keypoints: `[21, 3]` keypoints in the camera frame, mm.
    rotation: `[3, 3]` hand → camera rotation.

  Returns:
    A JSON-ready dict: "view", "palm_normal" `[3]`, "palm_facing_cos", "fingers_towards_cos"
    (the distal axis against the direction to the camera), "roll_deg", "distance_mm" (depth of
    the keypoints' mean).
  """
  mcps = [names.FINGER_KEYPOINTS[f][0] for f in names.FINGERS[1:]]
  palm_centre = camera_keypoints[[names.WRIST] + mcps].mean(axis=0)
  to_camera = -palm_centre / np.linalg.norm(palm_centre)
  normal = rotation @ anatomy.PALMAR
  facing = float(normal @ to_camera)
  view = "palm" if facing > VIEW_COS else "back" if facing < -VIEW_COS else "side"
  middle_mcp = names.FINGER_KEYPOINTS["middle"][0]
  uv = camera.project(camera_keypoints)
  du, dv = uv[middle_mcp] - uv[names.WRIST]
  return {"view": view, "palm_normal": [float(c) for c in normal],
          "palm_facing_cos": facing,
          "fingers_towards_cos": float((rotation @ anatomy.DISTAL) @ to_camera),
          "roll_deg": float(np.degrees(np.arctan2(du, -dv))),
          "distance_mm": float(camera_keypoints[:, 2].mean())}
