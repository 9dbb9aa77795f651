"""Vectorised ray casting of a hand surface made of round cones and ellipsoids (NumPy).

The synthetic hand's surface is independent of the Gaussian volume that the loss uses: it is a
union of convex primitives,

- round cones ("tapered capsules"): the convex hull of two spheres (centre a, radius r_a) and
  (centre b, radius r_b), i.e. the sweep of a sphere whose radius changes linearly from a to b;
- ellipsoids: a centre, three orthonormal axes and three semi-axes.

Every pixel casts a ray from the camera centre (the origin of the OpenCV camera frame, x right,
y down, z forward, mm) through its centre, d = ((u − cx)/fx, (v − cy)/fy, 1). With this
unnormalised d the ray parameter t at a hit is the hit's depth z in mm. Each primitive is
intersected with all rays of its projected bounding box at once (NumPy broadcasting of the
box's columns against its rows, so per-primitive constants stay scalars), and a z-buffer keeps
the nearest hit per pixel.
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


def _boxes(centres, half_extents, intrinsics, height, width):
  """Pixel boxes [u0, v0, u1, v1) holding the projections of axis-aligned 3D boxes (centre ±
  half extent per axis, mm), clipped to the image; empty for boxes reaching behind the camera's
  minimum depth only."""
  fx, fy, cx, cy = intrinsics
  x, y, z = centres[:, 0], centres[:, 1], centres[:, 2]
  ex, ey, ez = half_extents[:, 0], half_extents[:, 1], half_extents[:, 2]
  near = np.maximum(z - ez, numerics.MIN_DEPTH_MM)
  far = np.maximum(z + ez, numerics.MIN_DEPTH_MM)
  # x/z over the box is extreme at a corner: at its nearest or farthest depth.
  u_lo = fx * np.minimum((x - ex) / near, (x - ex) / far) + cx
  u_hi = fx * np.maximum((x + ex) / near, (x + ex) / far) + cx
  v_lo = fy * np.minimum((y - ey) / near, (y - ey) / far) + cy
  v_hi = fy * np.maximum((y + ey) / near, (y + ey) / far) + cy
  boxes = np.stack([np.ceil(u_lo - 0.5), np.ceil(v_lo - 0.5), np.floor(u_hi + 0.5) + 1,
                    np.floor(v_hi + 0.5) + 1], axis=-1)
  boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.int64)
  boxes[z + ez <= numerics.MIN_DEPTH_MM] = 0
  return boxes


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


def _sphere_entry(x, y, ray_sq, centre, radius):
  """Depth of the first hit of the rays (x, y, 1) of a pixel box with a sphere (inf: none).

  Args:
    x: `[1, w]` and y `[h, 1]` ray components (float32); ray_sq `[h, w]` their squared lengths.
    centre: `[3]` mm; radius: mm.

  Returns:
    `[h, w]` depths in mm.
  """
  c_x, c_y, c_z = (float(c) for c in centre)
  half_b = x * c_x + (y * c_y + c_z)
  disc = half_b * half_b - ray_sq * float(centre @ centre - radius * radius)
  t = (half_b - np.sqrt(np.maximum(disc, 0))) / ray_sq
  return np.where((disc >= 0) & (t > 0), t, np.inf)


def _round_cone_entry(x, y, ray_sq, start, end, start_radius, end_radius):
  """Depth of the first hit of the rays (x, y, 1) of a pixel box with a round cone.

  The cone is convex and the camera outside it, so the entry is the first hit of any of its
  pieces: the two spheres, and the tangent cone's side restricted to its valid band.

  Args:
    x: `[1, w]`, y `[h, 1]`, ray_sq `[h, w]` as in `_sphere_entry`.
    start, end: `[3]` sphere centres (mm); start_radius, end_radius: radii (mm).

  Returns:
    `[h, w]` depths in mm, inf where the ray misses.
  """
  t = np.minimum(_sphere_entry(x, y, ray_sq, start, start_radius),
                 _sphere_entry(x, y, ray_sq, end, end_radius))
  axis, length, sin, cos = _cone_geometry(start, end, start_radius, end_radius)
  # Side: (|q|² − h²)·cos²α = (r_a − h·sin α)² with q = t·d − a and h = q·w = t·h_d + h_0, a
  # quadratic qa·t² + 2·qb·t + qc = 0 in the ray's depth t.
  h_0 = float(-start @ axis)
  cos_sq, sin_sq = float(cos * cos), float(sin * sin)
  e = float(start_radius - sin * h_0)
  qc = float(cos_sq * (start @ start - h_0 * h_0) - e * e)
  h_d = x * float(axis[0]) + (y * float(axis[1]) + float(axis[2]))
  ray_start = x * float(start[0]) + (y * float(start[1]) + float(start[2]))
  h_d_sq = h_d * h_d
  qa = cos_sq * (ray_sq - h_d_sq) - sin_sq * h_d_sq
  qb = (e * float(sin)) * h_d - cos_sq * (ray_start + h_d * h_0)
  disc = qb * qb - qa * qc
  root = np.sqrt(np.maximum(disc, 0))
  solvable = (disc >= 0) & (np.abs(qa) >= QA_EPS)
  safe_qa = np.where(solvable, qa, 1)
  low, high = float(start_radius * sin), float(length + end_radius * sin)
  for sign in (-1, 1):
    t_side = (sign * root - qb) / safe_qa
    h = t_side * h_d + h_0
    # The band lies on the spheres' nappe (r_a − h·sin α > 0 within it), so the quadratic's
    # other nappe needs no test of its own.
    valid = solvable & (t_side > 0) & (h >= low) & (h <= high) & (t_side < t)
    t = np.where(valid, t_side, t)
  return t


def _ellipsoid_entry(x, y, centre, axes, radii):
  """Depth of the first hit of the rays (x, y, 1) of a pixel box with an ellipsoid.

  In the ellipsoid's frame scaled to a unit sphere, ray d maps to S⁻¹Rᵀd and the centre to
  S⁻¹Rᵀc; the entry depth is then a unit sphere's.
  """
  scaled = axes / radii[None, :]
  local_centre = scaled.T @ centre
  local = [x * float(scaled[0, i]) + (y * float(scaled[1, i]) + float(scaled[2, i]))
           for i in range(3)]
  local_sq = local[0] * local[0] + local[1] * local[1] + local[2] * local[2]
  half_b = (local[0] * float(local_centre[0]) + local[1] * float(local_centre[1])
            + local[2] * float(local_centre[2]))
  disc = half_b * half_b - local_sq * float(local_centre @ local_centre - 1.0)
  t = (half_b - np.sqrt(np.maximum(disc, 0))) / local_sq
  return np.where((disc >= 0) & (t > 0), t, np.inf)


def _cone_cos_incidence(ray_x, ray_y, t, piece, starts, ends, start_radii, end_radii):
  """cos(incidence) = −n·d/|d| of hits on round cones, n the outward normal.

  In the (h, ρ) half-plane of the cone's axis, the side is the line h·sin α + ρ·cos α = r_a,
  touching the spheres at h = r_a·sin α and h = L + r_b·sin α; a point whose foot on that line
  lies beyond a touching point belongs to that sphere (normal from its centre), otherwise to
  the side (normal sin α·w + cos α·ρ̂).

  Args:
    ray_x, ray_y, t: `[P]` the hit pixels' rays (x, y, 1) and depths (float32).
    piece: `[P]` the cone hit by each; starts, ends, start_radii, end_radii: the cones.

  Returns:
    `[P]` float32.
  """
  axis, length, sin, cos = _cone_geometry(starts, ends, start_radii, end_radii)
  constants = np.concatenate([starts, ends, axis, np.stack([
      sin, cos, start_radii, start_radii * sin, length + end_radii * sin], axis=-1)],
                             axis=-1).astype(np.float32)[piece].T
  a_x, a_y, a_z, b_x, b_y, b_z, w_x, w_y, w_z, sin, cos, r_a, low, high = constants
  rel_x, rel_y, rel_z = t * ray_x - a_x, t * ray_y - a_y, t - a_z
  h = rel_x * w_x + rel_y * w_y + rel_z * w_z
  rad_x, rad_y, rad_z = rel_x - h * w_x, rel_y - h * w_y, rel_z - h * w_z
  rho = np.maximum(np.sqrt(rad_x * rad_x + rad_y * rad_y + rad_z * rad_z), 1e-6)
  foot = h - (h * sin + rho * cos - r_a) * sin
  d_w = ray_x * w_x + ray_y * w_y + w_z
  side = sin * d_w + cos * (ray_x * rad_x + ray_y * rad_y + rad_z) / rho
  to_start = (ray_x * rel_x + ray_y * rel_y + rel_z) / np.maximum(
      np.sqrt(rel_x * rel_x + rel_y * rel_y + rel_z * rel_z), 1e-6)
  end_x, end_y, end_z = t * ray_x - b_x, t * ray_y - b_y, t - b_z
  to_end = (ray_x * end_x + ray_y * end_y + end_z) / np.maximum(
      np.sqrt(end_x * end_x + end_y * end_y + end_z * end_z), 1e-6)
  normal_d = np.where(foot < low, to_start, np.where(foot > high, to_end, side))
  return -normal_d / np.sqrt(ray_x * ray_x + ray_y * ray_y + 1)


def render(surface, intrinsics, height, width):
  """Ray-casts a surface into a z-buffer.

  Args:
    surface: A `Surface` in the camera frame (mm).
    intrinsics: `[4]` (fx, fy, cx, cy) in pixels.
    height, width: The image size in pixels.

  Returns:
    A dict of numpy arrays:
    "depth": `[H, W]` float32, z of the nearest hit in mm, 0 where no surface;
    "cos_incidence": `[H, W]` float32, cosine between the surface normal and the direction
      back to the camera at the hit (1 = facing the camera, 0 = grazing), 0 where no surface;
    "primitive": `[H, W]` int32, the index of the hit primitive (`Surface`), `NO_HIT` elsewhere.
  """
  intrinsics = np.asarray(intrinsics, np.float64)
  fx, fy, cx, cy = intrinsics
  # Per-pixel work runs in float32: depths of a few hundred mm keep ~0.05 mm precision, well
  # below the sensor's 1 mm quantisation (grazing rays lose more, up to ~0.2 mm).
  column_x = ((np.arange(width) - cx) / fx).astype(np.float32)
  row_y = ((np.arange(height) - cy) / fy).astype(np.float32)
  cones = _split_cones(surface, intrinsics)
  boxes = _primitive_boxes(surface, cones, intrinsics, height, width)
  drawn = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
  depth = np.zeros((height, width), np.float32)
  cos_image = np.zeros((height, width), np.float32)
  primitive = np.full((height, width), NO_HIT, np.int32)
  if not drawn.any():
    return {"depth": depth, "cos_incidence": cos_image, "primitive": primitive}
  zbuffer, owner, (left, top) = _zbuffer(surface, cones, boxes, drawn, column_x, row_y)
  box_rows, box_columns = np.nonzero(owner != NO_HIT)
  piece = owner[box_rows, box_columns]
  t = zbuffer[box_rows, box_columns]
  rows, columns = box_rows + top, box_columns + left
  cos_incidence = _cos_incidence(surface, cones, column_x[columns], row_y[rows], t, piece)
  num_pieces = cones[4].shape[0]
  depth[rows, columns] = t
  cos_image[rows, columns] = np.clip(cos_incidence, 0.0, 1.0)
  primitive[rows, columns] = np.where(piece < num_pieces,
                                      cones[4][np.minimum(piece, num_pieces - 1)],
                                      piece - num_pieces + surface.num_cones)
  return {"depth": depth, "cos_incidence": cos_image, "primitive": primitive}


def _primitive_boxes(surface, cones, intrinsics, height, width):
  """`[P, 4]` image boxes (u0, v0, u1, v1) of the cone pieces, then of the ellipsoids."""
  starts, ends, start_radii, end_radii, piece_cone = cones
  num_pieces = piece_cone.shape[0]
  end_boxes = _boxes(np.concatenate([starts, ends]),
                     np.repeat(np.concatenate([start_radii, end_radii])[:, None], 3, axis=1),
                     intrinsics, height, width)
  start_boxes, end_boxes = end_boxes[:num_pieces], end_boxes[num_pieces:]
  piece_boxes = np.concatenate([np.minimum(start_boxes[:, :2], end_boxes[:, :2]),
                                np.maximum(start_boxes[:, 2:], end_boxes[:, 2:])], axis=-1)
  piece_boxes[(start_boxes[:, 2] <= start_boxes[:, 0])
              & (end_boxes[:, 2] <= end_boxes[:, 0])] = 0
  # An ellipsoid's axis-aligned half extents: √Σ_j (R_ij·s_j)².
  extents = np.sqrt(np.sum((surface.ellipsoid_axes * surface.ellipsoid_radii[:, None, :]) ** 2,
                           axis=-1))
  ellipsoid_boxes = _boxes(surface.ellipsoid_centres, extents, intrinsics, height, width)
  return np.concatenate([piece_boxes, ellipsoid_boxes])


def _zbuffer(surface, cones, boxes, drawn, column_x, row_y):
  """The nearest hit t (mm) and its primitive over the union of the drawn boxes, and the
  union's corner (left, top) in the image."""
  starts, ends, start_radii, end_radii, piece_cone = cones
  num_pieces = piece_cone.shape[0]
  left, top = boxes[drawn, 0].min(), boxes[drawn, 1].min()
  right, bottom = boxes[drawn, 2].max(), boxes[drawn, 3].max()
  zbuffer = np.full((bottom - top, right - left), np.inf, np.float32)
  owner = np.full((bottom - top, right - left), NO_HIT, np.int32)
  for index in np.flatnonzero(drawn):
    u0, v0, u1, v1 = boxes[index]
    x, y = column_x[None, u0:u1], row_y[v0:v1, None]
    if index < num_pieces:
      ray_sq = x * x + (y * y + 1)
      t = _round_cone_entry(x, y, ray_sq, starts[index], ends[index], start_radii[index],
                            end_radii[index])
    else:
      e = index - num_pieces
      t = _ellipsoid_entry(x, y, surface.ellipsoid_centres[e], surface.ellipsoid_axes[e],
                           surface.ellipsoid_radii[e])
    window = (slice(v0 - top, v1 - top), slice(u0 - left, u1 - left))
    nearer = t < zbuffer[window]
    np.copyto(zbuffer[window], t, where=nearer)
    np.copyto(owner[window], index, where=nearer)
  return zbuffer, owner, (left, top)


def _cos_incidence(surface, cones, ray_x, ray_y, t, piece):
  """The cosine of incidence at each hit (ray (x, y, 1)·t on primitive `piece`), unclipped."""
  starts, ends, start_radii, end_radii, piece_cone = cones
  num_pieces = piece_cone.shape[0]
  on_cone = piece < num_pieces
  cos_incidence = np.empty(t.shape, np.float32)
  cos_incidence[on_cone] = _cone_cos_incidence(
      ray_x[on_cone], ray_y[on_cone], t[on_cone], piece[on_cone], starts, ends, start_radii,
      end_radii)
  e = piece[~on_cone] - num_pieces
  points = np.stack([ray_x[~on_cone], ray_y[~on_cone], np.ones(e.shape)], axis=-1) * t[
      ~on_cone, None]
  normals = ellipsoid_level(points, surface.ellipsoid_centres[e], surface.ellipsoid_axes[e],
                            surface.ellipsoid_radii[e])[1]
  cos_incidence[~on_cone] = -_dot(normals, points) / np.linalg.norm(points, axis=-1)
  return cos_incidence
