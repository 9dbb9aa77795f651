"""The independent renderer's surface: joints inside it, tips just under the skin, and the ray
caster checked against closed-form depths and against the inside test."""

import numpy as np
import pytest

from independent_hand import anatomy
from independent_hand import body
from independent_hand import names
from independent_hand import poses
from independent_hand import raycast
from independent_hand import scene
from independent_hand import views

CAMERA = raycast.Camera()


def _one_primitive_body(ellipsoid=None, frustum=None):
  empty3, empty33 = np.zeros((0, 3)), np.zeros((0, 3, 3))
  centres, axes, radii = ellipsoid if ellipsoid else (empty3, empty33, empty3)
  origins, f_axes, sections, lengths, ratios = frustum if frustum else (
      empty3, empty33, np.zeros((0, 2)), np.zeros(0), np.zeros(0))
  return body.Body(np.atleast_2d(centres), np.reshape(axes, (-1, 3, 3)), np.atleast_2d(radii),
                   np.reshape(origins, (-1, 3)), np.reshape(f_axes, (-1, 3, 3)),
                   np.reshape(sections, (-1, 2)), np.atleast_1d(lengths),
                   np.atleast_1d(ratios), np.zeros(names.NUM_KEYPOINTS))


def test_sphere_depth_matches_closed_form():
  centre, radius = np.array([20.0, -10.0, 500.0]), 30.0
  depth, cosine = raycast.render(
      _one_primitive_body(ellipsoid=(centre, np.eye(3), np.full(3, radius))), CAMERA)
  v, u = np.nonzero(depth)
  rays = np.stack([(u - CAMERA.cx) / CAMERA.fx, (v - CAMERA.cy) / CAMERA.fy, np.ones(u.size)], 1)
  unit = rays / np.linalg.norm(rays, axis=1, keepdims=True)
  # Nearest intersection of a unit ray with the sphere: s = c·d − sqrt((c·d)² − |c|² + r²).
  along = unit @ centre
  distance = along - np.sqrt(along ** 2 - centre @ centre + radius ** 2)
  np.testing.assert_allclose(depth[v, u], distance * unit[:, 2], atol=1e-6)
  hit = distance[:, None] * unit
  normal = (hit - centre) / radius
  np.testing.assert_allclose(cosine[v, u], np.abs(np.sum(normal * unit, axis=1)), atol=1e-6)
  # The silhouette: every pixel whose ray passes within the radius is hit, no other.
  all_v, all_u = np.mgrid[0:CAMERA.height, 0:CAMERA.width]
  all_rays = np.stack([(all_u - CAMERA.cx) / CAMERA.fx, (all_v - CAMERA.cy) / CAMERA.fy,
                       np.ones(all_u.shape)], -1)
  all_unit = all_rays / np.linalg.norm(all_rays, axis=-1, keepdims=True)
  miss = np.linalg.norm(np.cross(all_unit, centre), axis=-1)
  assert np.array_equal(depth > 0, miss < radius)


def test_side_on_frustum_depth_and_ends():
  # A cone frustum along x, 100 mm long, sections 20 → 30 mm, its axis at z = 400.
  axes = np.stack([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], axis=1)
  origin = np.array([-50.0, 0.0, 400.0])
  depth, _ = raycast.render(_one_primitive_body(
      frustum=(origin, axes, np.array([20.0, 20.0]), 100.0, 1.5)), CAMERA)
  row = int(CAMERA.cy)
  for x_mm in (-40.0, 0.0, 40.0):
    column = int(round(CAMERA.cx + CAMERA.fx * x_mm / 400.0))
    radius = 20.0 * (1.0 + 0.5 * (x_mm + 50.0) / 100.0)
    # The ray through this pixel is nearly parallel to z: the hit is ~ the radius in front.
    assert depth[row, column] == pytest.approx(400.0 - radius, abs=0.6)
  beyond = int(round(CAMERA.cx + CAMERA.fx * 55.0 / 400.0))
  assert depth[row, beyond] == 0.0


def _frames(count, seed=3):
  return [scene.sample_frame(seed, k, 6, "sphere", render=False) for k in range(count)]


def test_every_joint_lies_inside_the_surface():
  for frame in _frames(100):
    inside = body.inside(frame.body, frame.xyz)
    assert inside.all(), (frame.pose.kind, [names.KEYPOINT_NAMES[k]
                                             for k in np.flatnonzero(~inside)])


def test_the_ray_to_each_joint_meets_the_surface_before_it():
  # A ray check beside the inside test: cast one ray exactly through each joint (a camera
  # whose principal point puts the joint on a pixel centre); the nearest hit lies in front of
  # the joint, by at most its skin depth plus any part in front of it.
  for frame in _frames(6):
    for k, (x, y, z) in enumerate(frame.xyz):
      camera = raycast.Camera(cx=-CAMERA.fx * x / z, cy=-CAMERA.fy * y / z, width=1, height=1)
      depth, _ = raycast.render(frame.body, camera)
      assert 0.0 < depth[0, 0] < z, (names.KEYPOINT_NAMES[k], depth[0, 0], z)


@pytest.mark.parametrize("kind", ["open", "spread", "point"])
def test_tips_lie_a_few_mm_under_the_skin(kind):
  subject = anatomy.make_subject(0, 1)
  pose = poses.Pose(kind, poses.PROTOTYPES_DEG[kind], 0.0, 0.0)
  hand, points = body.build(subject, pose, 200.0)
  tips = names.TIPS if kind != "point" else (names.FINGER_KEYPOINTS["index"][-1],)
  for tip in tips:
    axis = points[tip] - points[names.PARENTS[tip]]
    axis /= np.linalg.norm(axis)
    steps = np.arange(0.0, 15.0, 0.25)
    inside = body.inside(hand, points[tip] + steps[:, None] * axis)
    skin = steps[np.argmin(inside)]
    assert inside[0] and 2.5 < skin < 8.0, (names.KEYPOINT_NAMES[tip], skin)


@pytest.mark.parametrize("index", range(4))
def test_rendered_hits_lie_on_the_inside_test_boundary(index):
  # 4000 rendered pixels: just before its hit the ray is outside the union (nothing nearer was
  # missed), just after it inside (the hit is on the surface; grazing hits may leave at once).
  frame = scene.sample_frame(5, index, 6, "sphere")
  v, u = np.nonzero(frame.clean)
  pick = np.random.default_rng(index).choice(v.size, min(v.size, 4000), replace=False)
  v, u = v[pick], u[pick]
  rays = np.stack([(u - CAMERA.cx) / CAMERA.fx, (v - CAMERA.cy) / CAMERA.fy, np.ones(u.size)], 1)
  hits = frame.clean[v, u][:, None] * rays
  unit = rays / np.linalg.norm(rays, axis=1, keepdims=True)
  assert not body.inside(frame.body, hits - 0.02 * unit).any()
  assert body.inside(frame.body, hits + 0.02 * unit).mean() > 0.99


def test_frontal_views_fill_the_image_with_a_hand():
  frame = scene.sample_frame(0, 1, 6, "frontal")
  assert frame.depth.shape == (480, 640)
  assert 3000 < np.count_nonzero(frame.depth) < 0.5 * frame.depth.size
  assert views.DEPTH_RANGE_MM[0] <= frame.meta["distance_mm"]


def test_point_arrays_of_the_wrong_shape_are_refused():
  frame = scene.sample_frame(0, 0, 6, "sphere", render=False)
  with pytest.raises(ValueError, match=r"points must have shape \[N, 3\]"):
    body.inside(frame.body, np.zeros((4, 2)))
  with pytest.raises(ValueError, match=r"points must have shape \[N, 3\]"):
    CAMERA.project(np.zeros(3))
