"""Analytic ray casting of a `body.Body` into a depth image (NumPy, vectorised per primitive).

Rays leave the camera centre through pixel centres (integer pixel coordinates, the OpenCV
convention): d = ((u − cx)/fx, (v − cy)/fy, 1), so the ray parameter t of a hit is its depth z.
Each primitive is intersected in closed form (a quadratic in t) with the rays of its projected
bounding box only; a z-buffer keeps the nearest hit and the cosine between the ray and the
surface normal there (for the sensor's grazing-angle dropouts).
"""

import dataclasses

import numpy as np

NEAR_MM = 1.0
"""Hits closer than this to the camera centre are ignored (and a primitive that reaches behind
it is cast over the whole image)."""


@dataclasses.dataclass(frozen=True)
class Camera:
  """A pinhole depth camera (pixels; OpenCV convention x right, y down, z forward)."""
  fx: float = 588.03
  fy: float = 588.03
  cx: float = 320.0
  cy: float = 240.0
  width: int = 640
  height: int = 480

  @property
  def intrinsics(self):
    """[fx, fy, cx, cy]."""
    return [self.fx, self.fy, self.cx, self.cy]

  def project(self, points):
    """`[N, 3]` camera-frame points (mm) → `[N, 2]` pixels (u, v)."""
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
      raise ValueError(f"points must have shape [N, 3] (mm, camera frame), got {points.shape}")
    return np.stack([self.fx * points[:, 0] / points[:, 2] + self.cx,
                     self.fy * points[:, 1] / points[:, 2] + self.cy], axis=1)


def _pixel_box(camera, corners):
  # The pixel window (u0, u1, v0, v1), inclusive, that holds the projection of a primitive's
  # bounding-box corners `[8, 3]`; the projection of a convex body lies in their hull. None
  # when the window misses the image.
  if np.any(corners[:, 2] <= NEAR_MM):
    return 0, camera.width - 1, 0, camera.height - 1
  uv = camera.project(corners)
  u0, v0 = np.floor(uv.min(axis=0)).astype(int)
  u1, v1 = np.ceil(uv.max(axis=0)).astype(int)
  box = (max(u0, 0), min(u1, camera.width - 1), max(v0, 0), min(v1, camera.height - 1))
  return box if box[0] <= box[1] and box[2] <= box[3] else None


def _corners(centre, axes, half_extent):
  signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
  return centre + (signs * half_extent) @ axes.T


def _rays(camera, box):
  u0, u1, v0, v1 = box
  v, u = np.mgrid[v0:v1 + 1, u0:u1 + 1]
  rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy,
                   np.ones(u.shape)], axis=-1)
  return rays.reshape(-1, 3)


def _roots(a, b, c):
  # Both roots of a·t² + b·t + c = 0 (NaN where there is none), the smaller first.
  disc = b * b - 4.0 * a * c
  ok = (disc >= 0.0) & (np.abs(a) > 1e-12)
  sqrt = np.sqrt(np.where(ok, disc, 0.0))
  safe_a = np.where(ok, a, 1.0)
  t1, t2 = (-b - sqrt) / (2.0 * safe_a), (-b + sqrt) / (2.0 * safe_a)
  lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
  return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def _ellipsoid_hits(rays, centre, axes, radii):
  origin = (-centre @ axes) / radii
  direction = (rays @ axes) / radii
  a = np.sum(direction ** 2, axis=1)
  b = 2.0 * direction @ origin
  c = origin @ origin - 1.0
  near, far = _roots(a, b, c)
  t = np.where(near > NEAR_MM, near, far)
  t = np.where(t > NEAR_MM, t, np.nan)
  local = origin + t[:, None] * direction
  normal = (local / radii) @ axes.T
  return t, normal


def _frustum_hits(rays, origin, axes, section, length, ratio):
  slope = (ratio - 1.0) / length
  local_origin = -origin @ axes
  local_rays = rays @ axes
  scale = np.array([section[0], section[1], 1.0])
  o, d = local_origin / scale, local_rays / scale
  radius0 = 1.0 + slope * o[2]
  a = d[:, 0] ** 2 + d[:, 1] ** 2 - (slope * d[:, 2]) ** 2
  b = 2.0 * (o[0] * d[:, 0] + o[1] * d[:, 1] - slope * d[:, 2] * radius0)
  c = o[0] ** 2 + o[1] ** 2 - radius0 ** 2
  best = np.full(len(rays), np.nan)
  for t in reversed(_roots(a, b, c)):
    along = local_origin[2] + t * local_rays[:, 2]
    valid = (t > NEAR_MM) & (along >= 0.0) & (along <= length)
    best = np.where(valid, t, best)
  local = o + best[:, None] * d
  gradient = np.stack([local[:, 0] / section[0], local[:, 1] / section[1],
                       -slope * (1.0 + slope * local[:, 2])], axis=1)
  return best, gradient @ axes.T


def _keep_nearest(depth, cosine, box, t, normal, rays):
  u0, u1, v0, v1 = box
  shape = (v1 - v0 + 1, u1 - u0 + 1)
  t = t.reshape(shape)
  window = depth[v0:v1 + 1, u0:u1 + 1]
  closer = np.isfinite(t) & ((window == 0.0) | (t < window))
  if not np.any(closer):
    return
  norm = np.linalg.norm(normal, axis=1) * np.linalg.norm(rays, axis=1)
  cos = np.abs(np.sum(normal * rays, axis=1)) / np.where(norm > 0.0, norm, 1.0)
  window[closer] = t[closer]
  cosine[v0:v1 + 1, u0:u1 + 1][closer] = cos.reshape(shape)[closer]


def render(body, camera):
  """Ray-casts a camera-frame `body.Body`.

  Args:
    body: Primitives in the camera frame, mm.
    camera: A `Camera`.

  Returns:
    depth: float64 `[height, width]` z of the nearest surface in mm, 0 where no ray hits.
    cosine: float64 `[height, width]` |cos| of the angle between ray and surface normal there
      (0 where no hit).
  """
  depth = np.zeros((camera.height, camera.width))
  cosine = np.zeros_like(depth)
  for centre, axes, radii in zip(body.ellipsoid_centres, body.ellipsoid_axes,
                                 body.ellipsoid_radii):
    box = _pixel_box(camera, _corners(centre, axes, radii))
    if box is None:
      continue
    rays = _rays(camera, box)
    _keep_nearest(depth, cosine, box, *_ellipsoid_hits(rays, centre, axes, radii), rays)
  for origin, axes, section, length, ratio in zip(
      body.frustum_origins, body.frustum_axes, body.frustum_sections, body.frustum_lengths,
      body.frustum_ratios):
    widest = max(1.0, ratio) * section
    centre = origin + 0.5 * length * axes[:, 2]
    box = _pixel_box(camera, _corners(centre, axes, np.array([*widest, 0.5 * length])))
    if box is None:
      continue
    rays = _rays(camera, box)
    _keep_nearest(depth, cosine, box,
                  *_frustum_hits(rays, origin, axes, section, length, ratio), rays)
  return depth, cosine
