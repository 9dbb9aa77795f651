"""Vectorised ray casting of a hand surface made of round cones and ellipsoids (NumPy).

The synthetic hand's surface is independent of the Gaussian volume that the loss uses: it is a
union of convex primitives,

- round cones ("tapered capsules"): the convex hull of two spheres (centre a, radius r_a) and
  (centre b, radius r_b), i.e. the sweep of a sphere whose radius changes linearly from a to b;
- ellipsoids: a centre, three orthonormal axes and three semi-axes.

Every pixel casts a ray from the camera centre (the origin of the OpenCV camera frame, x right,
y down, z forward, mm) through its centre, d = ((u − cx)/fx, (v − cy)/fy, 1). With this
unnormalised d the ray parameter t at a hit is the hit's depth z in mm. Only pixels inside each
primitive's projected bounding box are tested, and all (pixel, primitive) pairs of a frame are
intersected in one vectorised pass; a z-buffer keeps the nearest hit per pixel.
"""

import dataclasses

import numpy as np

from handvol import numerics

NO_HIT = -1
"""Primitive index of pixels that see no surface."""

QA_EPS = 1e-6
"""Rays whose side quadratic has |t² coefficient| below this (parallel to the cone's side,
unitless) skip the side test; the spheres still catch them."""

MAX_CONE_PIECES = 8
"""Most pieces a long cone is split into for tighter pixel boxes (`_split_cones`)."""


@dataclasses.dataclass(frozen=True)
class Surface:
  """A union of round cones and ellipsoids in the camera frame (mm).

  Attributes:
    cone_starts: `[K, 3]` sphere centres a.
    cone_ends: `[K, 3]` sphere centres b.
    cone_start_radii: `[K]` radii r_a (mm).
    cone_end_radii: `[K]` radii r_b (mm).
    ellipsoid_centres: `[E, 3]`.
    ellipsoid_axes: `[E, 3, 3]`; column i of `ellipsoid_axes[e]` is the unit direction of
      semi-axis i.
    ellipsoid_radii: `[E, 3]` semi-axes (mm).

  Primitive indices (as in `render`'s "primitive" image) count the cones first, 0..K−1, then
  the ellipsoids, K..K+E−1.
  """
  cone_starts: np.ndarray
  cone_ends: np.ndarray
  cone_start_radii: np.ndarray
  cone_end_radii: np.ndarray
  ellipsoid_centres: np.ndarray
  ellipsoid_axes: np.ndarray
  ellipsoid_radii: np.ndarray

  @property
  def num_cones(self):
    return self.cone_starts.shape[0]

  @property
  def num_primitives(self):
    return self.cone_starts.shape[0] + self.ellipsoid_centres.shape[0]


def _dot(x, y):
  return np.einsum("...i,...i->...", x, y)


def _cone_geometry(starts, ends, start_radii, end_radii):
  """Axis w, length L and sin/cos of the half-angle α of the tangent cone (sin α = (r_a − r_b)/L).

  A taper steeper than the spheres allow (|r_a − r_b| ≥ L, one sphere inside the other) is
  clamped to a near-flat tangent line; the bigger sphere then dominates anyway.
  """
  axis = ends - starts
  length = np.maximum(np.linalg.norm(axis, axis=-1), numerics.EPS)
  axis = axis / length[..., None]
  sin = np.clip((start_radii - end_radii) / length, -0.999, 0.999)
  cos = np.sqrt(1.0 - sin * sin)
  return axis, length, sin, cos


def round_cone_distance(points, starts, ends, start_radii, end_radii):
  """Signed distance (mm) from points to round cones, negative inside, and its gradient.

  Args:
    points: `[..., 3]` mm.
    starts, ends: `[..., 3]` (broadcastable) sphere centres.
    start_radii, end_radii: `[...]` radii.

  Returns:
    (distance `[...]`, unit outward normal of the nearest surface point `[..., 3]`).
  """
  axis, length, sin, cos = _cone_geometry(starts, ends, start_radii, end_radii)
  rel = points - starts
  h = _dot(rel, axis)
  radial = rel - h[..., None] * axis
  rho = np.linalg.norm(radial, axis=-1)
  radial_dir = radial / np.maximum(rho, numerics.EPS)[..., None]
  # In the (h, ρ) half-plane the side is the line h·sin α + ρ·cos α = r_a, touching the spheres
  # at h = r_a·sin α and h = L + r_b·sin α; beyond those feet the nearest point is on a sphere.
  lateral = h * sin + rho * cos - start_radii
  foot = h - lateral * sin
  to_start = points - starts
  to_end = points - ends
  dist_start = np.linalg.norm(to_start, axis=-1)
  dist_end = np.linalg.norm(to_end, axis=-1)
  before = foot < start_radii * sin
  after = foot > length + end_radii * sin
  distance = np.where(before, dist_start - start_radii,
                      np.where(after, dist_end - end_radii, lateral))
  lateral_normal = sin[..., None] * axis + cos[..., None] * radial_dir
  normal = np.where(before[..., None], to_start / np.maximum(dist_start, numerics.EPS)[..., None],
                    np.where(after[..., None],
                             to_end / np.maximum(dist_end, numerics.EPS)[..., None],
                             lateral_normal))
  return distance, normal


def ellipsoid_level(points, centres, axes, radii):
  """The ellipsoid's level k = ‖S⁻¹Rᵀ(p − c)‖ (1 on the surface) and the unit outward normal.

  Args:
    points: `[..., 3]` mm.
    centres: `[..., 3]`; axes `[..., 3, 3]` (columns are unit axes); radii `[..., 3]` mm.

  Returns:
    (level `[...]`, unit normal `[..., 3]`).
  """
  local = np.einsum("...ji,...j->...i", axes, points - centres) / radii
  level = np.linalg.norm(local, axis=-1)
  normal = np.einsum("...ij,...j->...i", axes, local / radii)
  normal = normal / np.maximum(np.linalg.norm(normal, axis=-1), numerics.EPS)[..., None]
  return level, normal


def _sphere_boxes(centres, radii, intrinsics, height, width):
  """Conservative pixel boxes [u0, v0, u1, v1) of spheres' projections, clipped to the image."""
  fx, fy, cx, cy = intrinsics
  x, y, z = centres[:, 0], centres[:, 1], centres[:, 2]
  near = np.maximum(z - radii, numerics.MIN_DEPTH_MM)
  far = np.maximum(z + radii, numerics.MIN_DEPTH_MM)
  u_lo = fx * np.minimum((x - radii) / near, (x - radii) / far) + cx
  u_hi = fx * np.maximum((x + radii) / near, (x + radii) / far) + cx
  v_lo = fy * np.minimum((y - radii) / near, (y - radii) / far) + cy
  v_hi = fy * np.maximum((y + radii) / near, (y + radii) / far) + cy
  boxes = np.stack([np.ceil(u_lo - 0.5), np.ceil(v_lo - 0.5), np.floor(u_hi + 0.5) + 1,
                    np.floor(v_hi + 0.5) + 1], axis=-1)
  boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.int64)
  # Primitives behind the camera are not drawn.
  boxes[z + radii <= numerics.MIN_DEPTH_MM] = 0
  return boxes


def _pairs(boxes, width):
  """All (primitive, pixel) pairs inside the boxes: primitive index, u, v, flat pixel index."""
  box_w = np.maximum(boxes[:, 2] - boxes[:, 0], 0)
  box_h = np.maximum(boxes[:, 3] - boxes[:, 1], 0)
  counts = box_w * box_h
  primitive = np.repeat(np.arange(boxes.shape[0]), counts)
  offsets = np.cumsum(counts) - counts
  local = np.arange(primitive.shape[0]) - offsets[primitive]
  pair_w = box_w[primitive]
  u = boxes[primitive, 0] + local % pair_w
  v = boxes[primitive, 1] + local // pair_w
  return primitive, u, v, v * width + u


def _split_cones(surface, intrinsics):
  """Splits round cones into consecutive sub-cones with tighter pixel boxes.

  A round cone is the sweep of a sphere with linearly changing radius, so the union of the
  sub-sweeps is exactly the cone. A cone spanning (Δu, Δv) pixels with projected radius ρ cut
  into n pieces has boxes of total area ≈ ΔuΔv/n + 2ρ(Δu + Δv) + 4ρ²n, least at
  n = √(ΔuΔv)/2ρ: only long diagonal cones (a forearm) are split.

  Returns:
    (starts `[Q, 3]`, ends `[Q, 3]`, start radii `[Q]`, end radii `[Q]`, cone index `[Q]`).
  """
  fx, fy = intrinsics[0], intrinsics[1]
  starts, ends = surface.cone_starts, surface.cone_ends
  depth = np.maximum(np.minimum(starts[:, 2], ends[:, 2]), numerics.MIN_DEPTH_MM)
  span_u = fx * np.abs(ends[:, 0] / np.maximum(ends[:, 2], numerics.MIN_DEPTH_MM)
                       - starts[:, 0] / np.maximum(starts[:, 2], numerics.MIN_DEPTH_MM))
  span_v = fy * np.abs(ends[:, 1] / np.maximum(ends[:, 2], numerics.MIN_DEPTH_MM)
                       - starts[:, 1] / np.maximum(starts[:, 2], numerics.MIN_DEPTH_MM))
  radius_px = (0.5 * (fx + fy) * np.maximum(surface.cone_start_radii, surface.cone_end_radii)
               / depth)
  pieces = np.clip(np.round(np.sqrt(span_u * span_v) / np.maximum(2.0 * radius_px, 1.0)), 1,
                   MAX_CONE_PIECES).astype(np.int64)
  cone = np.repeat(np.arange(starts.shape[0]), pieces)
  first = np.cumsum(pieces) - pieces
  step = 1.0 / pieces[cone]
  s0 = (np.arange(cone.shape[0]) - first[cone]) * step
  s1 = s0 + step
  span = ends[cone] - starts[cone]
  radius_span = surface.cone_end_radii[cone] - surface.cone_start_radii[cone]
  return (starts[cone] + s0[:, None] * span, starts[cone] + s1[:, None] * span,
          surface.cone_start_radii[cone] + s0 * radius_span,
          surface.cone_start_radii[cone] + s1 * radius_span, cone)


def _sphere_entry(ray_x, ray_y, ray_sq, index, centres, radii):
  """Depth of the first intersection of rays (x, y, 1) with spheres (inf where none).

  Args:
    ray_x, ray_y, ray_sq: `[P]` ray components and squared lengths (their dtype is used).
    index: `[P]` the sphere of each ray.
    centres: `[S, 3]`; radii `[S]` (mm).
  """
  dtype = ray_x.dtype
  c_x, c_y, c_z = centres.astype(dtype)[index].T
  c_sq = (_dot(centres, centres) - radii * radii).astype(dtype)[index]
  half_b = ray_x * c_x + ray_y * c_y + c_z
  disc = half_b * half_b - ray_sq * c_sq
  t = (half_b - np.sqrt(np.maximum(disc, 0))) / ray_sq
  return np.where((disc >= 0) & (t > 0), t, np.inf)


def _round_cone_entry(ray_x, ray_y, ray_sq, cone, starts, ends, start_radii, end_radii):
  """Depth of the first intersection of rays (x, y, 1) with round cones (inf where none).

  The cone is convex and the camera outside it, so the entry is the first hit of any of its
  pieces: the two spheres, and the tangent cone's side restricted to its valid band. Per-cone
  constants are computed once (float64) and gathered per ray by `cone` (`[P]` indices) in the
  rays' dtype.
  """
  dtype = ray_x.dtype
  t = np.minimum(_sphere_entry(ray_x, ray_y, ray_sq, cone, starts, start_radii),
                 _sphere_entry(ray_x, ray_y, ray_sq, cone, ends, end_radii))
  # Side: (|q|² − h²)·cos²α = (r_a − h·sin α)² with q = t·d − a and h = q·w = t·h_d + h_0, a
  # quadratic qa·t² + 2·qb·t + qc = 0 whose coefficients are polynomials in the ray (x, y).
  axis, length, sin, cos = _cone_geometry(starts, ends, start_radii, end_radii)
  h_0 = -_dot(starts, axis)
  cos_sq = cos * cos
  e = start_radii - sin * h_0
  constants = np.stack([
      axis[:, 0], axis[:, 1], axis[:, 2], starts[:, 0], starts[:, 1], starts[:, 2], h_0,
      cos_sq, sin * sin, e * sin, cos_sq * (_dot(starts, starts) - h_0 * h_0) - e * e,
      start_radii * sin, length + end_radii * sin], axis=-1).astype(dtype)[cone].T
  w_x, w_y, w_z, a_x, a_y, a_z, h_0, cos_sq, sin_sq, e_sin, qc, low, high = constants
  h_d = ray_x * w_x + ray_y * w_y + w_z
  ray_start = ray_x * a_x + ray_y * a_y + a_z
  h_d_sq = h_d * h_d
  qa = cos_sq * (ray_sq - h_d_sq) - sin_sq * h_d_sq
  qb = e_sin * h_d - cos_sq * (ray_start + h_d * h_0)
  disc = qb * qb - qa * qc
  root = np.sqrt(np.maximum(disc, 0))
  solvable = (disc >= 0) & (np.abs(qa) >= QA_EPS)
  safe_qa = np.where(solvable, qa, 1)
  for sign in (-1, 1):
    t_side = (sign * root - qb) / safe_qa
    h = t_side * h_d + h_0
    # The band lies on the spheres' nappe (r_a − h·sin α > 0 within it), so the quadratic's
    # other nappe needs no test of its own.
    valid = solvable & (t_side > 0) & (h >= low) & (h <= high) & (t_side < t)
    t = np.where(valid, t_side, t)
  return t


def _ellipsoid_entry(ray_x, ray_y, ellipsoid, centres, axes, radii):
  """Depth of the first intersection of rays (x, y, 1) with ellipsoids (inf where none)."""
  dtype = ray_x.dtype
  scaled_axes = axes / radii[:, None, :]
  local_centres = np.einsum("eji,ej->ei", scaled_axes, centres)
  c_x, c_y, c_z = local_centres.astype(dtype)[ellipsoid].T
  c_sq = (_dot(local_centres, local_centres) - 1.0).astype(dtype)[ellipsoid]
  # Row i of scaled_axes[e]ᵀ maps a camera ray to the ellipsoid's unit-sphere frame.
  s = scaled_axes.reshape(-1, 9).astype(dtype)[ellipsoid].T
  local_x = ray_x * s[0] + ray_y * s[3] + s[6]
  local_y = ray_x * s[1] + ray_y * s[4] + s[7]
  local_z = ray_x * s[2] + ray_y * s[5] + s[8]
  local_sq = local_x * local_x + local_y * local_y + local_z * local_z
  half_b = local_x * c_x + local_y * c_y + local_z * c_z
  disc = half_b * half_b - local_sq * c_sq
  t = (half_b - np.sqrt(np.maximum(disc, 0))) / local_sq
  return np.where((disc >= 0) & (t > 0), t, np.inf)


def render(surface, intrinsics, height, width):
  """Ray-casts a surface into a z-buffer.

  Args:
    surface: A `Surface` in the camera frame (mm).
    intrinsics: `[4]` (fx, fy, cx, cy) in pixels.
    height, width: The image size in pixels.

  Returns:
    A dict of numpy arrays:
    "depth": `[H, W]` float64, z of the nearest hit in mm, 0 where no surface;
    "cos_incidence": `[H, W]` float64, cosine between the surface normal and the direction
      back to the camera at the hit (1 = facing the camera, 0 = grazing), 0 where no surface;
    "primitive": `[H, W]` int, the index of the hit primitive (`Surface`), `NO_HIT` elsewhere.
  """
  intrinsics = np.asarray(intrinsics, np.float64)
  fx, fy, cx, cy = intrinsics
  # Per-pair work runs in float32: depths of a few hundred mm keep ~0.05 mm precision,
  # well below the sensor's 1 mm quantisation.
  column_x = ((np.arange(width) - cx) / fx).astype(np.float32)
  row_y = ((np.arange(height) - cy) / fy).astype(np.float32)
  starts, ends, start_radii, end_radii, piece_cone = _split_cones(surface, intrinsics)
  num_pieces = piece_cone.shape[0]
  end_boxes = _sphere_boxes(np.concatenate([starts, ends]),
                            np.concatenate([start_radii, end_radii]), intrinsics, height, width)
  start_boxes, end_boxes = end_boxes[:num_pieces], end_boxes[num_pieces:]
  piece_boxes = np.concatenate([np.minimum(start_boxes[:, :2], end_boxes[:, :2]),
                                np.maximum(start_boxes[:, 2:], end_boxes[:, 2:])], axis=-1)
  piece_boxes[(start_boxes[:, 2] <= start_boxes[:, 0])
              & (end_boxes[:, 2] <= end_boxes[:, 0])] = 0
  ellipsoid_boxes = _sphere_boxes(surface.ellipsoid_centres,
                                  np.max(surface.ellipsoid_radii, axis=-1), intrinsics, height,
                                  width)
  piece, u, v, pixel = _pairs(np.concatenate([piece_boxes, ellipsoid_boxes]), width)
  ray_x, ray_y = column_x[u], row_y[v]
  ray_sq = ray_x * ray_x + ray_y * ray_y + 1
  split = np.searchsorted(piece, num_pieces)
  t = np.concatenate([
      _round_cone_entry(ray_x[:split], ray_y[:split], ray_sq[:split], piece[:split], starts,
                        ends, start_radii, end_radii),
      _ellipsoid_entry(ray_x[split:], ray_y[split:], piece[split:] - num_pieces,
                       surface.ellipsoid_centres, surface.ellipsoid_axes,
                       surface.ellipsoid_radii)])

  zbuffer = np.full(height * width, np.inf, np.float32)
  np.minimum.at(zbuffer, pixel, t)
  winner = np.isfinite(t) & (t == zbuffer[pixel])
  pixel, piece, t = pixel[winner], piece[winner], t[winner].astype(np.float64)
  rays = np.stack([ray_x[winner], ray_y[winner], np.ones(t.shape, np.float32)],
                  axis=-1).astype(np.float64)
  points = rays * t[:, None]
  normals = np.empty(points.shape)
  on_cone = piece < num_pieces
  c = piece[on_cone]
  normals[on_cone] = round_cone_distance(points[on_cone], starts[c], ends[c], start_radii[c],
                                         end_radii[c])[1]
  e = piece[~on_cone] - num_pieces
  normals[~on_cone] = ellipsoid_level(points[~on_cone], surface.ellipsoid_centres[e],
                                      surface.ellipsoid_axes[e], surface.ellipsoid_radii[e])[1]
  cos_incidence = -_dot(normals, rays) / np.sqrt(_dot(rays, rays))

  depth = np.zeros(height * width)
  depth[pixel] = t
  cos_image = np.zeros(height * width)
  cos_image[pixel] = np.clip(cos_incidence, 0.0, 1.0)
  primitive_image = np.full(height * width, NO_HIT)
  primitive_image[pixel] = np.where(on_cone, piece_cone[np.minimum(piece, num_pieces - 1)],
                                    piece - num_pieces + surface.num_cones)
  return {"depth": depth.reshape(height, width),
          "cos_incidence": cos_image.reshape(height, width),
          "primitive": primitive_image.reshape(height, width)}
