"""Oracles of the synthetic-data tests: distance functions of the surface primitives, written
independently of the ray caster's quadratics."""

import numpy as np
import pytest


def round_cone_distance(points, starts, ends, start_radii, end_radii):
  """Signed distance (mm) from points to round cones, negative inside, and its gradient.

  Args:
    points: `[..., 3]` mm.
    starts, ends: `[..., 3]` (broadcastable) sphere centres.
    start_radii, end_radii: `[...]` radii.

  Returns:
    (distance `[...]`, unit outward normal of the nearest surface point `[..., 3]`).
  """
  axis = ends - starts
  length = np.linalg.norm(axis, axis=-1)
  axis = axis / length[..., None]
  sin = (start_radii - end_radii) / length
  cos = np.sqrt(1.0 - sin * sin)
  rel = points - starts
  h = np.sum(rel * axis, axis=-1)
  radial = rel - h[..., None] * axis
  rho = np.linalg.norm(radial, axis=-1)
  radial_dir = radial / np.maximum(rho, 1e-12)[..., None]
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
  normal = np.where(before[..., None], to_start / np.maximum(dist_start, 1e-12)[..., None],
                    np.where(after[..., None],
                             to_end / np.maximum(dist_end, 1e-12)[..., None],
                             lateral_normal))
  return distance, normal


def surface_distance(points, surface):
  """Distance (mm) from points `[P, 3]` to the union of a `raycast.Surface`'s primitives:
  exact for the cones, to first order (k − 1)/|∇k| for the ellipsoids (points near them)."""
  cone, _ = round_cone_distance(points[:, None], surface.cone_starts, surface.cone_ends,
                                surface.cone_start_radii, surface.cone_end_radii)
  local = np.einsum("eji,pej->pei", surface.ellipsoid_axes,
                    points[:, None] - surface.ellipsoid_centres) / surface.ellipsoid_radii
  level = np.linalg.norm(local, axis=-1)
  gradient = np.linalg.norm(local / surface.ellipsoid_radii, axis=-1) / level
  return np.minimum(cone.min(axis=1), ((level - 1.0) / gradient).min(axis=1))


@pytest.fixture(name="round_cone_distance")
def round_cone_distance_fixture():
  return round_cone_distance


@pytest.fixture(name="surface_distance")
def surface_distance_fixture():
  return surface_distance
