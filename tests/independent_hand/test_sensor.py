"""The sensor model: noise of the stated size, grazing pixels lost, whole millimetres."""

import numpy as np

from independent_hand import body
from independent_hand import names
from independent_hand import raycast
from independent_hand import sensor


def _sphere_scene(z_mm=600.0, radius_mm=120.0):
  hand = body.Body(np.array([[0.0, 0.0, z_mm]]), np.eye(3)[None], np.full((1, 3), radius_mm),
                   np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 2)), np.zeros(0),
                   np.zeros(0), np.zeros(names.NUM_KEYPOINTS))
  return raycast.render(hand, raycast.Camera())


def test_noise_grazing_losses_and_quantisation():
  clean, cosine = _sphere_scene()
  config = sensor.SensorConfig()
  depth = sensor.apply(np.random.default_rng(0), clean, cosine, config)
  assert np.array_equal(depth, np.rint(depth))
  assert np.all(depth[clean == 0] == 0)
  assert np.all(depth[(cosine > 0) & (cosine < config.grazing_cos[0])] == 0)
  facing = (cosine > 0.9)
  kept = facing & (depth > 0)
  assert 1.0 - kept.sum() / facing.sum() < 3 * config.dropout + 0.005
  # σ(z) at ~490 mm is 0.8 + 1.6·0.49² ≈ 1.18 mm; with the smooth field (SD 0.7) and the
  # rounding the spread lies between the two alone and their sum.
  residual = depth[kept] - clean[kept]
  sigma = config.noise_base_mm + config.noise_quad_mm * (clean[kept].mean() / 1000.0) ** 2
  assert sigma < residual.std() < sigma + config.blob_sd_mm + 0.3
  assert abs(residual.mean()) < 0.5
  between = (cosine > config.grazing_cos[0]) & (cosine < config.grazing_cos[1])
  lost = np.mean(depth[between] == 0)
  assert 0.3 < lost < 0.8


def test_sensor_is_reproducible_and_seeded():
  clean, cosine = _sphere_scene()
  first = sensor.apply(np.random.default_rng(3), clean, cosine)
  assert np.array_equal(first, sensor.apply(np.random.default_rng(3), clean, cosine))
  assert not np.array_equal(first, sensor.apply(np.random.default_rng(4), clean, cosine))
