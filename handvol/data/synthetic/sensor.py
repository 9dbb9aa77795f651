"""Depth sensors' defects applied to a clean z-buffer.

Two models live here. `measure` is a real camera's (`Camera`, one of `cameras.json`): its image
size, intrinsics, depth unit and range are data, and its kind (structured light, active stereo,
time of flight) picks the artefacts (below, at `CAMERAS_PATH`); the scene renderer
(`scene.py`) uses it. `apply_sensor` is the hand generator's generic model (`SensorConfig`):
depth noise grows with distance (σ(z) = σ_0 + k·(z / 1 m)², the quadratic law of triangulating
sensors such as the Kinect), depths are quantised to 1 mm, pixels go missing at silhouette
edges and depth jumps, at grazing angles and in random holes, and an optional background plane
(a wall or table behind the hand) fills the rest of the frame.
"""

import dataclasses
import json
import pathlib

import numpy as np
from scipy import ndimage


@dataclasses.dataclass(frozen=True)
class SensorConfig:
  """Sensor model parameters (mm, pixels, probabilities).

  Attributes:
    noise_mm: σ_0, depth noise at the camera.
    noise_per_m2_mm: k, noise growth: σ(z) = noise_mm + noise_per_m2_mm·(z / 1000 mm)².
    quantisation_mm: Depth step of the output.
    grazing_cos: Surfaces seen at cos(incidence) below this are always missing.
    grazing_ramp_cos: Between `grazing_cos` and this, the chance of missing falls linearly to 0.
    edge_jump_mm: A pixel whose 4-neighbour is missing or differs by more than this is an edge.
    edge_drop: Chance that an edge pixel is missing.
    dropout: Chance that any pixel is missing.
    holes_per_frame: Mean number (Poisson) of random round holes.
    hole_radius_px: (min, max) hole radius in pixels, uniform.
    background_prob: Chance that a frame has a background plane.
    background_gap_mm: (min, max) distance of the plane behind the hand along its normal.
    background_tilt_deg: Largest angle between the plane's normal and the optical axis.
  """
  noise_mm: float = 0.5
  noise_per_m2_mm: float = 2.5
  quantisation_mm: float = 1.0
  grazing_cos: float = 0.12
  grazing_ramp_cos: float = 0.3
  edge_jump_mm: float = 15.0
  edge_drop: float = 0.5
  dropout: float = 0.002
  holes_per_frame: float = 2.0
  hole_radius_px: tuple = (1.0, 3.5)
  background_prob: float = 0.0
  background_gap_mm: tuple = (80.0, 400.0)
  background_tilt_deg: float = 35.0


NOISELESS = SensorConfig(noise_mm=0.0, noise_per_m2_mm=0.0, grazing_cos=0.0,
                         grazing_ramp_cos=0.0, edge_drop=0.0, dropout=0.0, holes_per_frame=0.0)
"""Only quantisation: back-projected pixels lie on the surface within half a step."""


def noise_sigma(depth, config):
  """σ of the depth noise (mm) at depth `depth` (mm, any shape)."""
  return config.noise_mm + config.noise_per_m2_mm * (depth / 1000.0) ** 2


def background_plane(depth, intrinsics, config, rng):
  """Depth (mm) and cos(incidence) of a random plane behind the hand, per pixel.

  The plane's normal n is tilted from the optical axis by at most `background_tilt_deg`; its
  offset puts every surface point p of `depth` at least `background_gap_mm` (a random draw)
  in front of it along n, so the plane never cuts the hand.

  Args:
    depth: `[H, W]` clean depth of the hand (mm, 0 where none).
    intrinsics: `[4]` (fx, fy, cx, cy).
    config: A `SensorConfig`.
    rng: A `numpy.random.Generator`.

  Returns:
    (depth `[H, W]` float32, cos `[H, W]` float32).
  """
  height, width = depth.shape
  fx, fy, cx, cy = intrinsics
  tilt = np.radians(config.background_tilt_deg) * np.sqrt(rng.uniform())
  azimuth = rng.uniform(0.0, 2.0 * np.pi)
  normal = np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth),
                     np.cos(tilt)])
  ray_x = ((np.arange(width) - cx) / fx).astype(np.float32)
  ray_y = ((np.arange(height) - cy) / fy).astype(np.float32)
  # A pixel's ray is z·(x, y, 1); the plane is n·p = offset, so z = offset / (n·(x, y, 1)).
  facing = (ray_x[None, :] * normal[0] + ray_y[:, None] * normal[1] + normal[2]).astype(
      np.float32)
  offset = np.max(depth * facing) + rng.uniform(*config.background_gap_mm)
  plane = np.float32(offset) / facing
  ray_norm = np.sqrt(ray_x[None, :] ** 2 + ray_y[:, None] ** 2 + 1.0)
  return plane, facing / ray_norm


def apply_sensor(depth, cos_incidence, intrinsics, config, rng):
  """Turns a clean z-buffer into a measured depth frame.

  Args:
    depth: `[H, W]` clean depth in mm, 0 where no surface.
    cos_incidence: `[H, W]` cosine of the incidence angle of each hit (0 where no surface).
    intrinsics: `[4]` (fx, fy, cx, cy), for the background plane.
    config: A `SensorConfig`.
    rng: A `numpy.random.Generator`.

  Returns:
    `[H, W]` float32 measured depth in mm, 0 = no measurement.
  """
  height, width = depth.shape
  depth = np.asarray(depth, np.float32)
  cos_incidence = np.asarray(cos_incidence, np.float32)
  if config.background_prob > 0 and rng.uniform() < config.background_prob:
    plane_depth, plane_cos = background_plane(depth, intrinsics, config, rng)
    empty = depth == 0
    depth = np.where(empty, plane_depth, depth)
    cos_incidence = np.where(empty, plane_cos, cos_incidence)
  rows = np.flatnonzero(depth.any(axis=1))
  columns = np.flatnonzero(depth.any(axis=0))
  out = np.zeros((height, width), np.float32)
  if rows.size == 0:
    return out
  top, bottom = rows[0], rows[-1] + 1
  left, right = columns[0], columns[-1] + 1
  box = depth[top:bottom, left:right]
  # Per-pixel work touches the surface's pixels only, by flat index into the box padded by one
  # pixel of zeros (so that its edges see their outside).
  padded = np.pad(box, 1)
  padded_width = padded.shape[1]
  index = np.flatnonzero(padded)
  centre = padded.ravel()[index]
  cos_pixels = np.pad(cos_incidence[top:bottom, left:right], 1).ravel()[index]
  keep = _keep_probability(padded, index, cos_pixels, config)
  kept = rng.random(index.shape, np.float32) < keep

  row, column = np.divmod(index, padded_width)
  for pick in rng.integers(index.size, size=rng.poisson(config.holes_per_frame)):
    radius = rng.uniform(*config.hole_radius_px)
    kept &= (row - row[pick]) ** 2 + (column - column[pick]) ** 2 > radius * radius

  measured = centre + noise_sigma(centre, config).astype(np.float32) * rng.standard_normal(
      centre.shape, np.float32)
  if config.quantisation_mm > 0:
    measured = np.round(measured / config.quantisation_mm) * config.quantisation_mm
  kept &= measured > 0
  out_padded = np.zeros(padded.shape, np.float32)
  out_padded.ravel()[index[kept]] = measured[kept]
  out[top:bottom, left:right] = out_padded[1:-1, 1:-1]
  return out


def _keep_probability(padded, index, cos_pixels, config):
  """The probability that each surface pixel (flat `index` into the zero-padded box) is
  measured: the grazing-angle ramp, the dropout, and the extra drop on depth edges."""
  padded_width = padded.shape[1]
  centre = padded.ravel()[index]
  edge = np.zeros(index.shape, bool)
  for step in (1, -1, padded_width, -padded_width):
    neighbour = padded.ravel()[index + step]
    edge |= (neighbour == 0) | (np.abs(neighbour - centre) > config.edge_jump_mm)
  if config.grazing_ramp_cos > config.grazing_cos:
    keep = np.clip((cos_pixels - config.grazing_cos)
                   / (config.grazing_ramp_cos - config.grazing_cos), 0.0, 1.0)
  else:
    keep = (cos_pixels >= config.grazing_cos).astype(np.float32)
  keep *= (1.0 - config.dropout) * np.where(edge, 1.0 - config.edge_drop, 1.0)
  return keep


# Depth cameras (`cameras.json`): each camera's intrinsics, depth unit and range are data, and
# its kind picks one of three sensor models. A model turns a clean z-buffer (mm) into the
# camera's 16-bit counts:
#   structured light (Kinect v1): depth from the disparity d = f·b/z between the IR camera and a
#     projector b mm along +x, quantised in disparity (so depth steps grow as z²); the
#     projector's shadow (surfaces it cannot see) left of near objects; holes at depth edges;
#   active stereo (RealSense D4xx, SR300): the same triangulation with a second imager at +x:
#     the band it does not see (image's left edge, left of near objects), finer disparity steps,
#     and edge fattening (a near edge bleeds a few pixels onto the background);
#   time of flight (Kinect v2, Azure Kinect): noise linear in z, flying pixels (mixtures of a
#     near and a far depth) on depth edges, and multipath (light bounced off nearby surfaces
#     lengthens the path: pixels behind their neighbourhood read farther).

CAMERAS_PATH = pathlib.Path(__file__).with_name("cameras.json")
SENSOR_KINDS = ("structured_light", "active_stereo", "time_of_flight")
CAMERA_FIELDS = ("kind", "width", "height", "intrinsics", "depth_unit_mm", "range_mm")
KIND_PARAMETERS = {
    "structured_light": ("baseline_mm", "disparity_step_px", "disparity_noise_px",
                         "edge_jump_mm", "edge_drop", "grazing_cos", "dropout"),
    "active_stereo": ("baseline_mm", "disparity_step_px", "disparity_noise_px", "edge_jump_mm",
                      "edge_drop", "grazing_cos", "dropout"),
    "time_of_flight": ("noise_mm", "noise_per_m_mm", "edge_jump_mm", "flying_prob",
                       "multipath_gain", "multipath_max_mm", "multipath_radius_px",
                       "grazing_cos", "dropout"),
}
"""The parameters each kind's entry must give (units in their names; probabilities 0–1)."""

FATTENING_PX = 2
"""Active stereo: how far (pixels along the row) a near edge bleeds onto the background."""
FATTENING_PROB = 0.5
"""Active stereo: chance that a background pixel within `FATTENING_PX` of a near edge takes
the edge's depth."""
MAX_COUNT = np.iinfo(np.uint16).max


@dataclasses.dataclass(frozen=True)
class Camera:
  """A depth camera (one entry of `cameras.json`).

  Attributes:
    name: The entry's key.
    kind: One of `SENSOR_KINDS`.
    width, height: Image size (pixels).
    intrinsics: (fx, fy, cx, cy) in pixels.
    depth_unit_mm: mm per count of the camera's 16-bit depth frames.
    range_mm: (near, far): depths outside read 0 (no measurement).
    parameters: The kind's `KIND_PARAMETERS`, name → float.
    description: What the entry models.
  """
  name: str
  kind: str
  width: int
  height: int
  intrinsics: tuple
  depth_unit_mm: float
  range_mm: tuple
  parameters: dict
  description: str = ""


def load_cameras(path=CAMERAS_PATH):
  """Reads a cameras file (the format of `cameras.json`) into `{name: Camera}`.

  Raises:
    ValueError: An entry lacks a field or a parameter of its kind, or has an unknown kind, or
      bad intrinsics, unit or range; the message names the file and the key.
  """
  with open(path, encoding="utf-8") as f:
    entries = json.load(f)
  cameras = {}
  for name, entry in entries.items():
    if name.startswith("_"):
      continue
    where = f"{path}: camera {name!r}"
    missing = [key for key in CAMERA_FIELDS if key not in entry]
    if missing:
      raise ValueError(f"{where} lacks {missing}")
    if entry["kind"] not in SENSOR_KINDS:
      raise ValueError(f"{where}: kind must be one of {SENSOR_KINDS}, got {entry['kind']!r}")
    needed = KIND_PARAMETERS[entry["kind"]]
    missing = [key for key in needed if key not in entry]
    if missing:
      raise ValueError(f"{where} lacks the {entry['kind']} parameters {missing}")
    if len(entry["intrinsics"]) != 4 or min(entry["intrinsics"][:2]) <= 0:
      raise ValueError(f"{where}: intrinsics must be (fx, fy, cx, cy) with fx, fy > 0, got "
                       f"{entry['intrinsics']}")
    near, far = entry["range_mm"]
    if entry["depth_unit_mm"] <= 0 or not 0 < near < far:
      raise ValueError(f"{where}: depth_unit_mm must be > 0 and range_mm 0 < near < far, got "
                       f"{entry['depth_unit_mm']} and {entry['range_mm']}")
    cameras[name] = Camera(name=name, kind=entry["kind"], width=int(entry["width"]),
                           height=int(entry["height"]),
                           intrinsics=tuple(float(x) for x in entry["intrinsics"]),
                           depth_unit_mm=float(entry["depth_unit_mm"]),
                           range_mm=(float(near), float(far)),
                           parameters={key: float(entry[key]) for key in needed},
                           description=entry.get("description", ""))
  return cameras


CAMERAS = load_cameras()
"""The cameras of `cameras.json`, by name."""


def get_camera(name):
  """The `Camera` called `name` in `CAMERAS` (ValueError naming the known ones otherwise)."""
  if name not in CAMERAS:
    raise ValueError(f"camera must be one of {sorted(CAMERAS)}, got {name!r}")
  return CAMERAS[name]


def depth_edges(depth, jump_mm):
  """`[H, W]` bool: surface pixels (depth > 0, mm) with a 4-neighbour that is empty or differs
  by more than `jump_mm`; pixels at the image border count their outside as empty."""
  padded = np.pad(depth, 1)
  centre = padded[1:-1, 1:-1]
  edge = np.zeros(depth.shape, bool)
  for neighbour in (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]):
    edge |= (neighbour == 0) | (np.abs(neighbour - centre) > jump_mm)
  return edge & (centre > 0)


def second_view_shadow(depth, focal_px, baseline_mm):
  """`[H, W]` bool: surface pixels that a second view `baseline_mm` along +x cannot see.

  A pixel at column u with disparity D = f·b/z appears in the second view at u − D. Sweeping
  each row from the right, a pixel is seen only if it lands left of every pixel to its right
  (a nearer surface to its right covers it otherwise: the shadow lies left of near objects);
  pixels landing left of the second image (u − D < −½) are unseen too.
  """
  width = depth.shape[1]
  surface = depth > 0
  disparity = np.where(surface, focal_px * baseline_mm / np.where(surface, depth, 1.0), 0.0)
  second = np.where(surface, np.arange(width)[None, :] - disparity, np.inf)
  right_min = np.minimum.accumulate(second[:, ::-1], axis=1)[:, ::-1]
  right_min = np.concatenate([right_min[:, 1:], np.full((depth.shape[0], 1), np.inf)], axis=1)
  return surface & ((second >= right_min) | (second < -0.5))


def _triangulated(depth, camera, rng):
  """Depth (mm) re-measured through a noisy disparity quantised to `disparity_step_px`."""
  p = camera.parameters
  focal_baseline = camera.intrinsics[0] * p["baseline_mm"]
  surface = depth > 0
  disparity = focal_baseline / np.where(surface, depth, 1.0)
  disparity = disparity + p["disparity_noise_px"] * rng.standard_normal(depth.shape)
  step = p["disparity_step_px"]
  disparity = np.maximum(np.round(disparity / step), 1.0) * step
  return np.where(surface, focal_baseline / disparity, 0.0)


def _fattened(depth, jump_mm, rng):
  """Active stereo's edge fattening: background pixels up to `FATTENING_PX` along the row from
  a nearer surface take its depth with chance `FATTENING_PROB` (depth mm, 0 = none)."""
  far = np.where(depth > 0, depth, np.inf)
  nearest = ndimage.minimum_filter1d(far, 2 * FATTENING_PX + 1, axis=1, mode="constant",
                                     cval=np.inf)
  bleed = (depth > 0) & (depth - nearest > jump_mm) & (rng.random(depth.shape) < FATTENING_PROB)
  return np.where(bleed, nearest, depth)


def _flying_and_multipath(depth, camera, rng):
  """Time of flight's flying pixels and multipath bias on clean depth (mm, 0 = none)."""
  p = camera.parameters
  surface = depth > 0
  radius = int(p["multipath_radius_px"])
  size = 2 * radius + 1
  weight = ndimage.uniform_filter(surface.astype(np.float64), size, mode="constant")
  local = ndimage.uniform_filter(depth.astype(np.float64), size, mode="constant")
  local = local / np.maximum(weight, 1e-9)
  bias = np.clip(p["multipath_gain"] * (depth - local), 0.0, p["multipath_max_mm"])
  measured = depth + np.where(surface, bias, 0.0)
  # A pixel straddling a depth edge mixes its own return with its farthest neighbour's.
  padded = np.pad(depth, 1)
  farthest = np.maximum.reduce([padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2],
                                padded[1:-1, 2:]])
  flying = (surface & (farthest - depth > p["edge_jump_mm"])
            & (rng.random(depth.shape) < p["flying_prob"]))
  mix = rng.random(depth.shape)
  return np.where(flying, mix * depth + (1.0 - mix) * farthest, measured)


def _kept(depth, cos_incidence, camera, rng):
  """`[H, W]` bool: the pixels the camera measures at all (grazing angles, random dropout, and
  for triangulating cameras the chance of losing a pixel on a depth edge)."""
  p = camera.parameters
  keep = (depth > 0) & (cos_incidence >= p["grazing_cos"]) & (
      rng.random(depth.shape) >= p["dropout"])
  if "edge_drop" in p:
    edge = depth_edges(depth, p["edge_jump_mm"])
    keep &= ~(edge & (rng.random(depth.shape) < p["edge_drop"]))
  return keep


def measure(depth, cos_incidence, camera, rng):
  """Turns a clean z-buffer into what `camera` (a `Camera`) records.

  Args:
    depth: `[H, W]` clean depth in mm, 0 where no surface (the camera's image size).
    cos_incidence: `[H, W]` cosine of incidence of each hit (0 where no surface).
    camera: A `Camera`.
    rng: A `numpy.random.Generator`.

  Returns:
    A dict: "counts" `[H, W]` uint16, the camera's frame in `camera.depth_unit_mm` (0 = no
    measurement); "depth_mm" `[H, W]` float32, the same in mm.

  Raises:
    ValueError: `depth` is not the camera's image size.
  """
  depth = np.asarray(depth, np.float64)
  if depth.shape != (camera.height, camera.width):
    raise ValueError(f"depth must have the shape {(camera.height, camera.width)} of camera "
                     f"{camera.name!r}, got {depth.shape}")
  cos_incidence = np.asarray(cos_incidence, np.float64)
  keep = _kept(depth, cos_incidence, camera, rng)
  p = camera.parameters
  if camera.kind == "time_of_flight":
    measured = _flying_and_multipath(depth, camera, rng)
    measured = measured + (p["noise_mm"] + p["noise_per_m_mm"] * measured / 1000.0) * (
        rng.standard_normal(depth.shape))
  else:
    keep &= ~second_view_shadow(depth, camera.intrinsics[0], p["baseline_mm"])
    if camera.kind == "active_stereo":
      depth = _fattened(np.where(keep, depth, 0.0), p["edge_jump_mm"], rng)
      keep = depth > 0
    measured = _triangulated(depth, camera, rng)
  near, far = camera.range_mm
  keep &= (measured >= near) & (measured <= far)
  counts = np.where(keep, np.round(measured / camera.depth_unit_mm), 0)
  counts = np.clip(counts, 0, MAX_COUNT).astype(np.uint16)
  return {"counts": counts,
          "depth_mm": (counts * np.float32(camera.depth_unit_mm)).astype(np.float32)}
