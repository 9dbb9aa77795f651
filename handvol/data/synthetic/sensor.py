"""A structured-light / time-of-flight depth sensor's defects applied to a clean z-buffer.

Depth noise grows with distance (σ(z) = σ_0 + k·(z / 1 m)², the quadratic law of triangulating
sensors such as the Kinect), depths are quantised to 1 mm, pixels go missing at silhouette
edges and depth jumps, at grazing angles and in random holes, and an optional background plane
(a wall or table behind the hand) fills the rest of the frame.
"""

import dataclasses

import numpy as np


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
