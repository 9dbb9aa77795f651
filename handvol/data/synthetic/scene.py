"""Synthetic scenes: the generator's hand held up in front of a person, seen by a real camera.

A scene frame is what a user's depth camera sees when a person holds up a hand: the hand of
`surface.build_surface` (its posed skeleton from `poses` and `kinematics`, a subject's widths)
with its forearm, attached at the elbow to an upper arm that reaches a torso `body_gap_mm`
behind the hand's centre; a head on a neck above the torso; the other arm hanging at the side
(it ends at the wrist: the other hand is not drawn); sleeves over the arms; sometimes a table
below the hand and a wall behind everything. Hands stand 25–120 cm away (never nearer than the
camera's near range allows) and their centres project anywhere up to `centre_spread` of the
image from its centre, so some are partly outside. A share of the frames shows no hand: the
person's arms hang down.

Everything is ray-cast at the camera's own size and intrinsics (`raycast`) and measured by its
sensor model (`sensor.measure`): the frame holds the camera's 16-bit counts in its depth unit.
Units: mm, camera frame (OpenCV: x right, y down, z forward).

Frame k of a run with seed s draws from the random stream (s, k) alone.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from handvol.data.synthetic import poses
from handvol.data.synthetic import raycast
from handvol.data.synthetic import sensor
from handvol.data.synthetic import subjects as subjects_lib
from handvol.data.synthetic import surface as surface_lib
from handvol.hand import kinematics
from handvol.hand import skeleton

PART_UPPER_ARM = surface_lib.PART_FOREARM + 1
PART_SLEEVE = PART_UPPER_ARM + 1
PART_TORSO = PART_SLEEVE + 1
PART_HEAD = PART_TORSO + 1
PART_OTHER_ARM = PART_HEAD + 1
PART_TABLE = PART_OTHER_ARM + 1
PART_WALL = PART_TABLE + 1
HAND_PARTS = tuple(range(skeleton.NUM_BONES)) + (surface_lib.PART_PALM,)
"""Part ids of a scene's "part" image beyond `surface_lib`'s (0..19 bones, palm, forearm);
`HAND_PARTS` are the hand's own (not the forearm)."""

TORSO_SEMI_AXES_MM = (170.0, 260.0, 110.0)
"""Half width, half height and half depth of the torso ellipsoid (an adult's chest)."""
SHOULDER_OFFSET_MM = (150.0, -210.0)
"""A shoulder joint relative to the torso's centre: sideways (either side) and up (−y); it
lies at the torso's mid-depth."""
UPPER_ARM_LENGTH_MM = 290.0
UPPER_ARM_RADII_MM = (48.0, 38.0)
"""Round-cone radii of the upper arm at the shoulder and at the elbow."""
NECK_LENGTH_MM = 90.0
NECK_RADIUS_MM = 55.0
HEAD_SEMI_AXES_MM = (80.0, 110.0, 95.0)
SLEEVE_EXTRA_MM = 12.0
"""A sleeve is this much wider than the arm it covers."""
HANGING_ARM_MM = ((30.0, 290.0, 10.0), (10.0, 250.0, -30.0))
"""A hanging arm: shoulder → elbow and elbow → wrist (outward, down, towards the camera)."""
REACH = 0.9
"""The forearm is tilted back until the shoulder's depth is within this share of the upper
arm's length from the elbow's. With or without a body, the elbow is never nearer the camera
than the wrist (a hand held up to a camera), unless the frame's arm comes towards the camera
(`SceneConfig.arm_towards_camera_prob`)."""
PALM_TO_CENTRE_MM = surface_lib.PALM_HALF_THICKNESS_MM
"""Depth from the hand's camera-facing skin to its keypoints' mean (about half a palm)."""
HAND_NEAR_MARGIN_MM = 50.0
"""Hands stay this far behind the camera's near range."""
TOWARDS_CAMERA_MIN_Z = 0.3
"""In a frame whose arm comes towards the camera, the forearm's direction (wrist → elbow) has
at least this share of its length towards the camera (−z)."""
TOWARDS_CAMERA_TRIES = 20
"""Hand poses drawn for such a frame until one's own forearm comes towards the camera; the last
is tilted if none does."""
UPPER_ARM_TOWARDS_CAMERA_PROB = 0.5
"""In such a frame, the chance that the upper arm is drawn; otherwise the forearm ends freely at
the elbow, as in the hand-only generator's frames (`surface.build_surface`)."""
ARM_NEAREST_MM = 50.0
"""An upper arm that runs towards the camera stops at this depth (behind the camera's near
range: the sensor reads nothing there)."""


@dataclasses.dataclass(frozen=True)
class SceneConfig:
  """What a scene may hold (mm, probabilities, fractions).

  Attributes:
    camera: A name of `sensor.CAMERAS`.
    hand_distance_mm: (min, max) depth of the hand's centre, uniform; the minimum is raised to
      the camera's near range + `HAND_NEAR_MARGIN_MM`.
    centre_spread: The hand's centre projects within this fraction of the image size from the
      image's centre in u and v (0.5 reaches the borders: hands partly outside).
    body_prob: Chance of a person (torso, head, arms) behind the hand.
    body_gap_mm: (min, max) depth from the hand's centre to the torso's front, uniform.
    sleeve_prob: Chance that the arms wear sleeves.
    table_prob, wall_prob: Chances of a table below the hand, a wall behind everything.
    no_hand_prob: Chance that the frame shows no hand (the arms hang down).
    arm_towards_camera_prob: Chance, for a frame with a hand, that its forearm comes towards
      the camera (at least `TOWARDS_CAMERA_MIN_Z` of it along −z) and its upper arm runs on
      towards the camera, with no body behind the hand: a camera beside the person's head or
      on their shoulder. 0 (the default) draws no random number for it, so frames of the
      other settings are as before.
    pose, view: The hand's articulation and viewpoint distributions (`poses`).
  """
  camera: str = "kinect_v1"
  hand_distance_mm: tuple = (250.0, 1200.0)
  centre_spread: float = 0.45
  body_prob: float = 0.8
  body_gap_mm: tuple = (0.0, 600.0)
  sleeve_prob: float = 0.7
  table_prob: float = 0.3
  wall_prob: float = 0.3
  no_hand_prob: float = 0.1
  arm_towards_camera_prob: float = 0.0
  pose: poses.PoseConfig = poses.PoseConfig()
  view: poses.ViewConfig = poses.ViewConfig()


@dataclasses.dataclass
class _Parts:
  """A scene's primitives as it is assembled: round cones and ellipsoids with part ids."""
  cones: list = dataclasses.field(default_factory=list)
  ellipsoids: list = dataclasses.field(default_factory=list)

  def cone(self, start, end, start_radius, end_radius, part):
    self.cones.append((np.asarray(start, float), np.asarray(end, float), start_radius,
                       end_radius, part))

  def ellipsoid(self, centre, axes, radii, part):
    self.ellipsoids.append((np.asarray(centre, float), np.asarray(axes, float),
                            np.asarray(radii, float), part))

  def add_surface(self, surface, parts):
    for k in range(surface.num_cones):
      self.cone(surface.cone_starts[k], surface.cone_ends[k], surface.cone_start_radii[k],
                surface.cone_end_radii[k], parts[k])
    for e in range(surface.ellipsoid_centres.shape[0]):
      self.ellipsoid(surface.ellipsoid_centres[e], surface.ellipsoid_axes[e],
                     surface.ellipsoid_radii[e], parts[surface.num_cones + e])

  def surface(self):
    """(`raycast.Surface`, `[K + E]` part ids)."""
    cones = list(zip(*self.cones)) if self.cones else [np.zeros((0, 3))] * 2 + [[]] * 3
    ellipsoids = (list(zip(*self.ellipsoids)) if self.ellipsoids
                  else [np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 3)), []])
    built = raycast.Surface(
        cone_starts=np.reshape(cones[0], (-1, 3)), cone_ends=np.reshape(cones[1], (-1, 3)),
        cone_start_radii=np.asarray(cones[2], float),
        cone_end_radii=np.asarray(cones[3], float),
        ellipsoid_centres=np.reshape(ellipsoids[0], (-1, 3)),
        ellipsoid_axes=np.reshape(ellipsoids[1], (-1, 3, 3)),
        ellipsoid_radii=np.reshape(ellipsoids[2], (-1, 3)))
    return built, np.asarray(list(cones[4]) + list(ellipsoids[3]), np.int32)


def _unit(x):
  return x / np.linalg.norm(x)


def _sample_centre(camera, config, rng):
  """The hand's centre (mm, camera frame): depth uniform in the camera's share of
  `hand_distance_mm`, projection uniform within `centre_spread` of the image centre."""
  low = max(config.hand_distance_mm[0], camera.range_mm[0] + HAND_NEAR_MARGIN_MM)
  depth = rng.uniform(low, max(low, config.hand_distance_mm[1]))
  fx, fy, cx, cy = camera.intrinsics
  u = (camera.width - 1) / 2 + rng.uniform(-1, 1) * config.centre_spread * camera.width
  v = (camera.height - 1) / 2 + rng.uniform(-1, 1) * config.centre_spread * camera.height
  return np.array([(u - cx) * depth / fx, (v - cy) * depth / fy, depth])


def posed_hand(subject, centre, config, rng):
  """A hand of `subject` (`subjects.Subject`) posed from `config.pose` and `config.view` (any
  object with those, such as a `SceneConfig`) by `rng`: its keypoints `[21, 3]`, bone frames
  `[20, 3, 3]` and unit forearm direction `[3]` (`poses.forearm_directions`), its keypoints'
  mean at `centre` `[3]` (mm)."""
  theta = np.zeros((1, skeleton.NUM_THETA))
  theta[:, skeleton.THETA_ROTATION] = poses.rotation_to_euler(
      poses.sample_rotations(1, config.view, rng))
  theta[:, skeleton.THETA_ARTICULATION] = poses.sample_articulations(1, config.pose, rng)
  fk = kinematics.forward_kinematics(tf.constant(theta), tf.constant(subject.lengths[None]))
  keypoints = fk["keypoints"].numpy()[0]
  keypoints = keypoints + (centre - keypoints.mean(axis=0))
  bone_frames = fk["bone_frames"].numpy()[0]
  palm_axes = surface_lib.palm_frame(keypoints, bone_frames)[1]
  forearm = poses.forearm_directions(palm_axes[None], config.view, rng)[0]
  return keypoints, bone_frames, forearm


def _tilted_back(forearm, needed_z):
  """The unit forearm direction with its z component raised to at least `needed_z` (capped at
  0.95), keeping its heading in the image plane."""
  if forearm[2] >= needed_z:
    return forearm
  z = min(needed_z, 0.95)
  sideways = forearm[:2] / max(np.linalg.norm(forearm[:2]), 1e-9)
  return np.append(np.sqrt(1.0 - z * z) * sideways, z)


def _towards_camera(forearm):
  """The unit forearm direction with its z component lowered to at most −`TOWARDS_CAMERA_MIN_Z`,
  keeping its heading in the image plane (`_tilted_back` mirrored)."""
  return -_tilted_back(-np.asarray(forearm), TOWARDS_CAMERA_MIN_Z)


def _hand_towards_camera(subject, centre, config, rng):
  """`posed_hand` redrawn (`TOWARDS_CAMERA_TRIES`) until its forearm comes towards the
  camera, so that the wrist's angle stays one of the view distribution's; the last draw is
  tilted by `_towards_camera` if none does."""
  for _ in range(TOWARDS_CAMERA_TRIES):
    keypoints, bone_frames, forearm = posed_hand(subject, centre, config, rng)
    if forearm[2] <= -TOWARDS_CAMERA_MIN_Z:
      break
  return keypoints, bone_frames, _towards_camera(forearm)


def _arm_towards_camera(parts, hand, config, rng):
  """Adds, by `UPPER_ARM_TOWARDS_CAMERA_PROB`, an upper arm from the elbow (the forearm's end)
  on towards the camera, bent by up to 45° from the forearm's line, cut at `ARM_NEAREST_MM`,
  with a sleeve by its chance."""
  elbow = hand["wrist"] + surface_lib.FOREARM_LENGTH_MM * hand["forearm"]
  if rng.uniform() >= UPPER_ARM_TOWARDS_CAMERA_PROB or elbow[2] <= ARM_NEAREST_MM:
    return
  onward = _towards_camera(_tilted(hand["forearm"], 45.0, rng))  # elbow → shoulder
  length = min(UPPER_ARM_LENGTH_MM, (elbow[2] - ARM_NEAREST_MM) / -onward[2])
  shoulder = elbow + length * onward
  sleeve = rng.uniform(0.2, 0.9) if rng.uniform() < config.sleeve_prob else None
  _arm(parts, shoulder, elbow, hand["wrist"], sleeve, PART_UPPER_ARM, forearm=False)


def _torso_and_head(parts, torso_centre):
  """Adds the torso, the neck and the head; returns the two shoulders (side −1, +1)."""
  parts.ellipsoid(torso_centre, np.eye(3), TORSO_SEMI_AXES_MM, PART_TORSO)
  top = torso_centre + np.array([0.0, -TORSO_SEMI_AXES_MM[1] + 20.0, 0.0])
  head = top + np.array([0.0, -NECK_LENGTH_MM - HEAD_SEMI_AXES_MM[1] + 20.0, 0.0])
  parts.cone(top, head, NECK_RADIUS_MM, NECK_RADIUS_MM, PART_TORSO)
  parts.ellipsoid(head, np.eye(3), HEAD_SEMI_AXES_MM, PART_HEAD)
  return {side: torso_centre + np.array([side * SHOULDER_OFFSET_MM[0], SHOULDER_OFFSET_MM[1],
                                         0.0]) for side in (-1, 1)}


def _arm(parts, shoulder, elbow, wrist, sleeve, part, forearm=True):
  """Adds an upper arm and, unless `forearm` is False (the hand's surface has it), a forearm
  from `elbow` to `wrist`, with a sleeve: `sleeve` None for bare arms, else the fraction of the
  forearm, from the elbow, that it covers."""
  parts.cone(shoulder, elbow, UPPER_ARM_RADII_MM[0], UPPER_ARM_RADII_MM[1], part)
  far_radius = surface_lib.FOREARM_RADII_MM[1]
  if forearm:
    parts.cone(elbow, wrist, far_radius, surface_lib.FOREARM_RADII_MM[0], part)
  if sleeve is None:
    return
  parts.cone(shoulder, elbow, UPPER_ARM_RADII_MM[0] + SLEEVE_EXTRA_MM,
             UPPER_ARM_RADII_MM[1] + SLEEVE_EXTRA_MM, PART_SLEEVE)
  cuff = elbow + sleeve * (wrist - elbow)
  parts.cone(elbow, cuff, far_radius + SLEEVE_EXTRA_MM, far_radius + SLEEVE_EXTRA_MM,
             PART_SLEEVE)


def _hanging_arm(parts, shoulder, side, sleeve):
  """Adds an arm that hangs down from `shoulder` on `side` (−1 or +1)."""
  outward = np.array([side, 1.0, 1.0])
  elbow = shoulder + outward * HANGING_ARM_MM[0]
  wrist = elbow + outward * HANGING_ARM_MM[1]
  _arm(parts, shoulder, elbow, wrist, sleeve, PART_OTHER_ARM)


def _body(parts, centre, hand, gap, config, rng):
  """Adds a person whose torso front lies `gap` mm behind `centre` (the hand's centre, mm).

  Args:
    parts: A `_Parts`.
    centre: `[3]` mm.
    hand: None (no hand: both arms hang) or a dict with "wrist" `[3]` and "forearm" (a unit
      direction), whose "forearm" is replaced by the direction that reaches the shoulder.
    gap: mm.
    config: A `SceneConfig`.
    rng: A `numpy.random.Generator`.

  Returns:
    The torso's front depth (mm).
  """
  sleeve = rng.uniform(0.2, 0.9) if rng.uniform() < config.sleeve_prob else None
  side = rng.choice([-1, 1])
  front = centre[2] + gap
  shoulder_depth = front + TORSO_SEMI_AXES_MM[2]
  if hand is None:
    torso = np.array([centre[0] - side * SHOULDER_OFFSET_MM[0],
                      centre[1] + rng.uniform(-100.0, 300.0), shoulder_depth])
    shoulders = _torso_and_head(parts, torso)
    for s in (-1, 1):
      _hanging_arm(parts, shoulders[s], s, sleeve)
    return front
  # Tilted back until the shoulder at `shoulder_depth` is within reach of the elbow.
  hand["forearm"] = _tilted_back(hand["forearm"], (
      shoulder_depth - REACH * UPPER_ARM_LENGTH_MM - hand["wrist"][2])
                                 / surface_lib.FOREARM_LENGTH_MM)
  elbow = hand["wrist"] + surface_lib.FOREARM_LENGTH_MM * hand["forearm"]
  depth_step = shoulder_depth - elbow[2]
  lateral = rng.uniform(0.0, 120.0)
  rise = np.sqrt(max(UPPER_ARM_LENGTH_MM ** 2 - depth_step ** 2 - lateral ** 2, 0.0))
  shoulder = elbow + np.array([side * lateral, -rise, depth_step])
  shoulders = _torso_and_head(
      parts, shoulder - np.array([side * SHOULDER_OFFSET_MM[0], SHOULDER_OFFSET_MM[1], 0.0]))
  _arm(parts, shoulder, elbow, hand["wrist"], sleeve, PART_UPPER_ARM, forearm=False)
  _hanging_arm(parts, shoulders[-side], -side, sleeve)
  return front


def _plane(normal, offset, camera):
  """Depth `[H, W]` (mm, 0 where the ray misses or meets the plane behind the camera) and
  cos(incidence) of the plane n·p = offset."""
  fx, fy, cx, cy = camera.intrinsics
  ray_x = (np.arange(camera.width) - cx) / fx
  ray_y = (np.arange(camera.height) - cy) / fy
  facing = ray_x[None, :] * normal[0] + ray_y[:, None] * normal[1] + normal[2]
  depth = np.where(np.abs(facing) > 1e-6, offset / np.where(facing == 0, 1.0, facing), 0.0)
  depth = np.where(depth > 0, depth, 0.0)
  norm = np.sqrt(ray_x[None, :] ** 2 + ray_y[:, None] ** 2 + 1.0)
  return depth, np.abs(facing) / norm


def _tilted(axis, max_deg, rng):
  """`axis` tilted by up to `max_deg` degrees in a random direction (a unit vector)."""
  tilt = np.radians(max_deg) * rng.uniform()
  other = _unit(np.cross(axis, rng.standard_normal(3)))
  return _unit(np.cos(tilt) * axis + np.sin(tilt) * other)


def _table(image, anchor, far_limit, camera, rng):
  """Draws a table top 80–250 mm below `anchor` (the hand's lowest point, or the torso's
  middle) from up to 300 mm in front of it back to `far_limit`, into `image` (in place)."""
  normal = _tilted(np.array([0.0, -1.0, 0.0]), 8.0, rng)
  point = anchor + np.array([0.0, rng.uniform(80.0, 250.0), 0.0])
  depth, cos = _plane(normal, normal @ point, camera)
  near = anchor[2] - rng.uniform(-100.0, 300.0)
  fx, _, cx, _ = camera.intrinsics
  x = (np.arange(camera.width)[None, :] - cx) / fx * depth
  half_width = rng.uniform(400.0, 900.0)
  on_table = (depth >= near) & (depth <= far_limit) & (np.abs(x - anchor[0]) <= half_width)
  _merge(image, np.where(on_table, depth, 0.0), cos, PART_TABLE)


def _wall(image, farthest, camera, rng):
  """Draws a wall, tilted up to 20°, that meets the optical axis 100–800 mm behind depth
  `farthest` (mm), into `image` (in place)."""
  normal = _tilted(np.array([0.0, 0.0, 1.0]), 20.0, rng)
  depth, cos = _plane(normal, normal[2] * (farthest + rng.uniform(100.0, 800.0)), camera)
  _merge(image, depth, cos, PART_WALL)


def _merge(image, depth, cos, part):
  """Puts a surface's depth (0 = none) into the z-buffer `image` where it is nearer."""
  nearer = (depth > 0) & ((image["depth"] == 0) | (depth < image["depth"]))
  image["depth"] = np.where(nearer, depth, image["depth"]).astype(np.float32)
  image["cos_incidence"] = np.where(nearer, cos, image["cos_incidence"]).astype(np.float32)
  image["part"] = np.where(nearer, part, image["part"]).astype(np.int32)


def _draw(parts, camera):
  """Ray-casts `parts` at the camera's size: "depth", "cos_incidence", "part" (`[H, W]`)."""
  built, part_ids = parts.surface()
  if len(part_ids) == 0:
    shape = (camera.height, camera.width)
    return {"depth": np.zeros(shape, np.float32), "cos_incidence": np.zeros(shape, np.float32),
            "part": np.full(shape, raycast.NO_HIT, np.int32)}
  image = raycast.render(built, np.asarray(camera.intrinsics), camera.height, camera.width)
  # Index −1 (no hit) picks the appended NO_HIT.
  image["part"] = np.append(part_ids, raycast.NO_HIT).astype(np.int32)[image.pop("primitive")]
  return image


def _background(image, centre, keypoints, front, camera, config, rng):
  """Adds the table and the wall to the z-buffer `image` (in place), each by its chance."""
  lowest = centre[1] + 150.0 if keypoints is None else keypoints[:, 1].max()
  anchor = np.array([centre[0], lowest, centre[2]])
  back = centre[2] + 100.0 if front is None else front + 2 * TORSO_SEMI_AXES_MM[2]
  if rng.uniform() < config.table_prob:
    far = front + 50.0 if front is not None else centre[2] + rng.uniform(600.0, 1200.0)
    _table(image, anchor, far, camera, rng)
  if rng.uniform() < config.wall_prob:
    _wall(image, back, camera, rng)


def render_scene(subject, config, rng):
  """Renders one scene frame.

  Args:
    subject: A `subjects.Subject` (the hand's bone lengths and widths).
    config: A `SceneConfig`.
    rng: A `numpy.random.Generator`.

  Returns:
    A dict (numpy): "counts" `[H, W]` uint16 (the camera's frame, `depth_unit_mm` per count,
    0 = no measurement); "depth" `[H, W]` float32 the same in mm; "clean_depth" `[H, W]` the
    z-buffer (mm); "part" `[H, W]` int32 the part seen (module constants, `raycast.NO_HIT`);
    "has_hand" bool; "truth_xyz" `[21, 3]` mm (zeros without a hand); "centre_xyz" `[3]` the
    keypoints' mean (mm; where the hand would be, without one); "centre_uvd" `[3]`;
    "inside" the share of the 21 keypoints that project into the image; "hand_pixels" the
    hand's pixels in the z-buffer; "body_gap_mm" (NaN without a body); "arm_towards_camera"
    bool (`SceneConfig.arm_towards_camera_prob`); "camera" its name;
    "intrinsics" `[4]`; "depth_unit_mm".
  """
  camera = sensor.get_camera(config.camera)
  has_hand = rng.uniform() >= config.no_hand_prob
  centre = _sample_centre(camera, config, rng)
  parts, hand, keypoints = _Parts(), None, None
  towards = (has_hand and config.arm_towards_camera_prob > 0
             and rng.uniform() < config.arm_towards_camera_prob)
  if towards:
    keypoints, bone_frames, forearm = _hand_towards_camera(subject, centre, config, rng)
    hand = {"wrist": keypoints[skeleton.ROOT], "forearm": forearm}
  elif has_hand:
    keypoints, bone_frames, forearm = posed_hand(subject, centre, config, rng)
    hand = {"wrist": keypoints[skeleton.ROOT], "forearm": _tilted_back(forearm, 0.0)}
  gap = rng.uniform(*config.body_gap_mm)
  front = None
  if towards:
    _arm_towards_camera(parts, hand, config, rng)
  elif rng.uniform() < config.body_prob:
    front = _body(parts, centre, hand, gap, config, rng)
  if has_hand:
    parts.add_surface(*surface_lib.build_surface(
        keypoints, bone_frames, subject.bone_radius_scale, subject.palm_thickness_scale,
        hand["forearm"]))
  image = _draw(parts, camera)
  _background(image, centre, keypoints, front, camera, config, rng)
  measured = sensor.measure(image["depth"], image["cos_incidence"], camera, rng)
  return {"counts": measured["counts"], "depth": measured["depth_mm"],
          "clean_depth": image["depth"], "part": image["part"], "has_hand": has_hand,
          **_truth(centre, keypoints, camera, image["part"]),
          "body_gap_mm": np.nan if front is None else gap, "arm_towards_camera": towards,
          "camera": camera.name,
          "intrinsics": np.asarray(camera.intrinsics, np.float32),
          "depth_unit_mm": camera.depth_unit_mm}


def _truth(centre, keypoints, camera, part):
  """The frame's truth keys of `render_scene` ("truth_xyz" … "hand_pixels")."""
  fx, fy, cx, cy = camera.intrinsics
  uvd = np.array([fx * centre[0] / centre[2] + cx, fy * centre[1] / centre[2] + cy, centre[2]])
  if keypoints is None:
    return {"truth_xyz": np.zeros((skeleton.NUM_KEYPOINTS, 3)), "centre_xyz": centre,
            "centre_uvd": uvd, "inside": 0.0, "hand_pixels": 0}
  u = fx * keypoints[:, 0] / keypoints[:, 2] + cx
  v = fy * keypoints[:, 1] / keypoints[:, 2] + cy
  inside = (u >= -0.5) & (u < camera.width - 0.5) & (v >= -0.5) & (v < camera.height - 0.5)
  return {"truth_xyz": keypoints, "centre_xyz": centre, "centre_uvd": uvd,
          "inside": float(inside.mean()), "hand_pixels": int(np.isin(part, HAND_PARTS).sum())}


def seen_centre(frame, parts, depth_key="clean_depth"):
  """Where a frame shows some of its parts: the mean camera-frame point of the pixels whose
  part (the frame's "part" image) is one of `parts` and whose `depth_key` image ("clean_depth",
  the z-buffer, or "depth", what the camera measured) is above 0.

  Args:
    frame: A dict of `render_scene`.
    parts: Part ids (module constants, `HAND_PARTS`).
    depth_key: "clean_depth" or "depth".

  Returns:
    The point `[3]` mm (NaN where no pixel qualifies) and the count of those pixels.
  """
  depth = frame[depth_key]
  rows, columns = np.nonzero(np.isin(frame["part"], parts) & (depth > 0))
  if not len(rows):
    return np.full(3, np.nan), 0
  fx, fy, cx, cy = frame["intrinsics"]
  depth = depth[rows, columns]
  return np.array([np.mean((columns - cx) * depth / fx), np.mean((rows - cy) * depth / fy),
                   np.mean(depth)]), len(rows)


def generate_scenes(num_frames, config=None, seed=0, subjects="unseen_test", first_frame=0):
  """Yields `render_scene` frames; frame k draws from the random stream (seed, k) alone.

  Args:
    num_frames: How many.
    config: A `SceneConfig` (defaults when None).
    seed: The run's seed.
    subjects: A name of `subjects.SUBJECT_SETS` or a tuple of subject ids.
    first_frame: Index of the first frame (to split a run).

  Yields:
    Dicts of `render_scene`, each with its "frame" index and its hand's "subject" id.
  """
  config = config or SceneConfig()
  people = subjects_lib.subject_set(subjects)
  for k in range(first_frame, first_frame + num_frames):
    rng = np.random.default_rng([seed, k])
    person = people[rng.integers(len(people))]
    frame = render_scene(person, config, rng)
    frame["frame"], frame["subject"] = k, person.subject_id
    yield frame
