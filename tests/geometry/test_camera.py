import numpy as np
import pytest
import tensorflow as tf

from handvol.geometry import camera

K = np.array([588.03, 587.07, 320.0, 240.0])


def test_project_uvd_round_trip():
  rng = np.random.default_rng(0)
  xyz = np.stack([rng.uniform(-100, 100, 50), rng.uniform(-100, 100, 50),
                  rng.uniform(300, 900, 50)], axis=-1)
  uvd = camera.xyz_to_uvd(xyz, K).numpy()
  np.testing.assert_allclose(uvd[:, 0], K[0] * xyz[:, 0] / xyz[:, 2] + K[2])
  np.testing.assert_allclose(uvd[:, 1], K[1] * xyz[:, 1] / xyz[:, 2] + K[3])
  np.testing.assert_allclose(camera.uvd_to_xyz(uvd, K).numpy(), xyz, atol=1e-9)


def test_numpy_projection_equals_the_tensorflow_one():
  rng = np.random.default_rng(1)
  xyz = np.stack([rng.uniform(-300, 300, [4, 21]), rng.uniform(-300, 300, [4, 21]),
                  rng.uniform(-50, 900, [4, 21])], axis=-1).astype(np.float32)
  xyz[0, 0, 2] = 0.0  # at the camera: clamped as `project` clamps
  intrinsics = np.array([[475.07, 475.07, 315.94, 245.29]] * 4, np.float32)[:, np.newaxis]
  expected = camera.xyz_to_uvd(xyz, intrinsics).numpy()
  np.testing.assert_allclose(camera.xyz_to_uvd_numpy(xyz, intrinsics), expected, rtol=1e-6,
                             atol=1e-3)
  np.testing.assert_allclose(camera.xyz_to_uvd_numpy(xyz[1, 3], K), camera.xyz_to_uvd(
      xyz[1, 3].astype(np.float64), K).numpy(), rtol=1e-6)


def test_project_behind_camera_is_finite():
  points = tf.constant([[0.0, 10.0, 0.0], [5.0, 5.0, -100.0]])
  with tf.GradientTape() as tape:
    tape.watch(points)
    uv = camera.project(points, K)
  grad = tape.gradient(uv, points)
  assert np.all(np.isfinite(uv.numpy())) and np.all(np.isfinite(grad.numpy()))


def test_pixel_rays_pass_through_points():
  xyz = np.array([[30.0, -20.0, 500.0], [-80.0, 40.0, 700.0]])
  uv = camera.project(xyz, K)
  rays = camera.pixel_rays(uv, K).numpy()
  np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0)
  np.testing.assert_allclose(rays, xyz / np.linalg.norm(xyz, axis=-1, keepdims=True), atol=1e-12)


def test_crop_intrinsics_match_crop_transform():
  rng = np.random.default_rng(1)
  xyz = np.stack([rng.uniform(-80, 80, 40), rng.uniform(-80, 80, 40),
                  rng.uniform(400, 800, 40)], axis=-1)
  window = np.array([250.3, 170.8, 401.1, 321.6])
  uv_image = camera.project(xyz, K)
  expected = camera.image_to_crop(uv_image, window, 128).numpy()
  k_crop = camera.crop_intrinsics(K, window, 128)
  np.testing.assert_allclose(camera.project(xyz, k_crop).numpy(), expected, atol=1e-9)
  # The crop's pixel centres map back to the window: pixel 0 starts at the left edge.
  np.testing.assert_allclose(camera.image_to_crop([[window[0], window[1]]], window, 128).numpy(),
                             [[-0.5, -0.5]], atol=1e-12)


def test_depth_to_points_back_projects():
  depth = np.full((4, 5), 600.0)
  depth[1, 2] = 0.0
  points = camera.depth_to_points(depth, K).numpy()
  assert points.shape == (4, 5, 3)
  np.testing.assert_allclose(points[3, 4], [(4 - K[2]) * 600 / K[0], (3 - K[3]) * 600 / K[1], 600])
  np.testing.assert_allclose(points[1, 2], 0.0)


def test_jacobian_of_projection():
  xyz = tf.constant([[30.0, -20.0, 500.0], [-80.0, 40.0, 700.0]], dtype=tf.float64)
  theoretical, numerical = tf.test.compute_gradient(
      lambda p: camera.project(p, tf.constant(K, tf.float64)), [xyz])
  np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-6)


def test_shape_errors_name_the_argument():
  with pytest.raises(ValueError, match="points must have exactly 3"):
    camera.project(tf.zeros([2, 2]), K)
  with pytest.raises(ValueError, match="intrinsics must have exactly 4"):
    camera.project(tf.zeros([2, 3]), [1.0, 2.0, 3.0])
