"""Tests of the round-cone / ellipsoid ray caster against independent oracles."""

import numpy as np
import pytest

from handvol.data.synthetic import raycast

INTRINSICS = np.array([588.03, 587.07, 320.0, 240.0])
HEIGHT, WIDTH = 480, 640


def _random_surface(seed, num_cones=8):
  rng = np.random.default_rng(seed)
  starts = rng.normal(0.0, 30.0, (num_cones, 3)) + [0.0, 0.0, 500.0]
  ends = starts + rng.normal(0.0, 30.0, (num_cones, 3))
  start_radii = rng.uniform(5.0, 14.0, num_cones)
  end_radii = rng.uniform(5.0, 14.0, num_cones)
  # A long diagonal forearm-like cone, split into pieces by the renderer.
  starts[0], ends[0] = [0.0, 40.0, 520.0], [150.0, 250.0, 600.0]
  start_radii[0], end_radii[0] = 22.0, 30.0
  axes = np.linalg.qr(rng.normal(size=(3, 3)))[0]
  return raycast.Surface(starts, ends, start_radii, end_radii,
                         ellipsoid_centres=np.array([[10.0, -10.0, 480.0]]),
                         ellipsoid_axes=axes[None],
                         ellipsoid_radii=np.array([[40.0, 30.0, 12.0]]))


def _union_lower_bound(points, surface, round_cone_distance):
  """Lower bound of the distance to the union (exact for cones, (k − 1)·r_min for ellipsoids),
  safe for sphere tracing."""
  cone, _ = round_cone_distance(points[:, None], surface.cone_starts, surface.cone_ends,
                                surface.cone_start_radii, surface.cone_end_radii)
  level, _ = raycast.ellipsoid_level(points[:, None], surface.ellipsoid_centres,
                                     surface.ellipsoid_axes, surface.ellipsoid_radii)
  ellipsoid = (level - 1.0) * surface.ellipsoid_radii.min(axis=-1)
  return np.minimum(cone.min(axis=1), ellipsoid.min(axis=1))


def _back_project(depth, rows, columns):
  fx, fy, cx, cy = INTRINSICS
  z = depth[rows, columns]
  return np.stack([(columns - cx) * z / fx, (rows - cy) * z / fy, z], axis=-1)


def test_round_cone_distance_matches_the_sphere_sweep(round_cone_distance):
  rng = np.random.default_rng(0)
  for _ in range(5):
    start, end = rng.normal(0.0, 20.0, 3), rng.normal(0.0, 20.0, 3)
    start_radius, end_radius = rng.uniform(3.0, 12.0, 2)
    s = np.linspace(0.0, 1.0, 4001)[:, None]
    centres = start + s * (end - start)
    radii = start_radius + s[:, 0] * (end_radius - start_radius)
    points = rng.normal(0.0, 30.0, (200, 3))
    sweep = np.min(np.linalg.norm(points[:, None] - centres, axis=-1) - radii, axis=1)
    distance, normal = round_cone_distance(points, start, end, start_radius, end_radius)
    outside = sweep > 0
    np.testing.assert_allclose(distance[outside], sweep[outside], atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(normal, axis=-1), 1.0, atol=1e-9)


def test_sphere_golden_values():
  centre, radius = np.array([20.0, -10.0, 600.0]), 30.0
  surface = raycast.Surface(centre[None], centre[None], np.array([radius]), np.array([radius]),
                            np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 3)))
  image = raycast.render(surface, INTRINSICS, HEIGHT, WIDTH)
  fx, fy, cx, cy = INTRINSICS
  column, row = fx * centre[0] / centre[2] + cx, fy * centre[1] / centre[2] + cy
  nearest = (int(round(row)), int(round(column)))
  rays = np.array([(nearest[1] - cx) / fx, (nearest[0] - cy) / fy, 1.0])
  # Exact entry depth of that pixel's ray into the sphere.
  b, a = rays @ centre, rays @ rays
  expected = (b - np.sqrt(b * b - a * (centre @ centre - radius ** 2))) / a
  assert image["depth"][nearest] == pytest.approx(expected, abs=0.02)
  assert image["cos_incidence"][nearest] == pytest.approx(1.0, abs=2e-3)
  # The silhouette of a sphere is an ellipse of area ≈ π·f²r²/(z² − r²).
  area = np.pi * fx * fy * radius ** 2 / (centre[2] ** 2 - radius ** 2)
  assert np.count_nonzero(image["depth"]) == pytest.approx(area, rel=0.02)
  assert set(np.unique(image["primitive"])) == {raycast.NO_HIT, 0}


@pytest.mark.parametrize("seed", [0, 1])
def test_hits_lie_on_the_surface(seed, surface_distance, round_cone_distance):
  surface = _random_surface(seed)
  image = raycast.render(surface, INTRINSICS, HEIGHT, WIDTH)
  rows, columns = np.nonzero(image["depth"])
  assert rows.size > 5000
  distance = surface_distance(_back_project(image["depth"], rows, columns), surface)
  # float32 ray casting: ~1e-4 relative precision at 500-600 mm.
  assert np.max(np.abs(distance)) < 0.08
  assert np.all((image["cos_incidence"][rows, columns] >= 0)
                & (image["cos_incidence"][rows, columns] <= 1))
  assert np.all(image["primitive"][rows, columns] >= 0)
  assert np.all(image["primitive"][image["depth"] == 0] == raycast.NO_HIT)
  # cos(incidence) from the hit primitive's normal (float64 distance-function gradient).
  points = _back_project(image["depth"], rows, columns)
  primitive = image["primitive"][rows, columns]
  normals = np.empty(points.shape)
  cone = primitive < surface.num_cones
  c = primitive[cone]
  normals[cone] = round_cone_distance(
      points[cone], surface.cone_starts[c], surface.cone_ends[c], surface.cone_start_radii[c],
      surface.cone_end_radii[c])[1]
  e = primitive[~cone] - surface.num_cones
  normals[~cone] = raycast.ellipsoid_level(points[~cone], surface.ellipsoid_centres[e],
                                           surface.ellipsoid_axes[e],
                                           surface.ellipsoid_radii[e])[1]
  expected = -np.sum(normals * points, axis=-1) / np.linalg.norm(points, axis=-1)
  difference = np.abs(image["cos_incidence"][rows, columns] - np.clip(expected, 0, 1))
  # The renderer works in float32; the normal is continuous across the cones' seams.
  assert np.max(difference) < 0.02
  assert np.mean(difference < 1e-3) > 0.999


def test_depth_is_the_first_hit_along_each_ray(round_cone_distance):
  """Sphere tracing the union's distance bound (an oracle without quadratics) finds the same
  first hits, and no hit where the renderer has none."""
  surface = _random_surface(2)
  image = raycast.render(surface, INTRINSICS, HEIGHT, WIDTH)
  rng = np.random.default_rng(3)
  rows_hit, columns_hit = np.nonzero(image["depth"])
  pick = rng.integers(rows_hit.size, size=1500)
  rows = np.concatenate([rows_hit[pick], rng.integers(150, 400, 1500)])
  columns = np.concatenate([columns_hit[pick], rng.integers(200, 500, 1500)])
  fx, fy, cx, cy = INTRINSICS
  rays = np.stack([(columns - cx) / fx, (rows - cy) / fy, np.ones(rows.size)], axis=-1)
  t = np.full(rows.size, 300.0)
  for _ in range(400):
    step = (_union_lower_bound(rays * t[:, None], surface, round_cone_distance)
            / np.linalg.norm(rays, axis=-1))
    t = np.minimum(t + np.maximum(step, 0.0), 2000.0)
  traced = np.where(t < 1500.0, t, 0.0)
  rendered = image["depth"][rows, columns]
  both = (traced > 0) & (rendered > 0)
  # Sphere tracing stalls near grazing rays, so a few rays may miss.
  assert np.mean((traced > 0) == (rendered > 0)) > 0.99
  assert np.percentile(np.abs(traced[both] - rendered[both]), 99) < 0.1


def test_splitting_long_cones_changes_nothing(monkeypatch):
  surface = _random_surface(4)
  split = raycast.render(surface, INTRINSICS, HEIGHT, WIDTH)
  monkeypatch.setattr(raycast, "MAX_CONE_PIECES", 1)
  whole = raycast.render(surface, INTRINSICS, HEIGHT, WIDTH)
  np.testing.assert_array_equal(split["primitive"] >= 0, whole["primitive"] >= 0)
  difference = np.abs(split["depth"] - whole["depth"])
  # float32 roots lose precision only on grazing rays (a near-zero discriminant).
  assert np.max(difference) < 0.25
  assert np.mean(difference < 0.02) > 0.9995
  assert np.mean(split["primitive"] == whole["primitive"]) > 0.999


def test_primitives_behind_the_camera_are_not_drawn():
  surface = raycast.Surface(np.array([[0.0, 0.0, -100.0]]), np.array([[0.0, 10.0, -50.0]]),
                            np.array([10.0]), np.array([10.0]), np.zeros((0, 3)),
                            np.zeros((0, 3, 3)), np.zeros((0, 3)))
  image = raycast.render(surface, INTRINSICS, HEIGHT, WIDTH)
  assert not image["depth"].any()
