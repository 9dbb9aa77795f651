"""The view sphere is covered: roll bins, palm / back / side, fingers towards and away, depth
range, joints inside the image; the frontal mode stays frontal."""

import collections
import functools

import numpy as np

from independent_hand import raycast
from independent_hand import scene
from independent_hand import views

CAMERA = raycast.Camera()


@functools.lru_cache(maxsize=None)
def _metas(mode, count=200, seed=0):
  # Shared by the tests (read only): frames drawn but not rendered.
  return [scene.sample_frame(seed, k, 6, mode, render=False) for k in range(count)]


def test_uniform_rotations_are_rotations_with_zero_mean():
  rng = np.random.default_rng(0)
  rotations = np.array([views.uniform_rotation(rng) for _ in range(4000)])
  np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1),
                             np.broadcast_to(np.eye(3), rotations.shape), atol=1e-9)
  np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-9)
  # Uniform on SO(3): every entry averages 0 (SD of the mean ≈ 0.009 here).
  assert np.abs(rotations.mean(axis=0)).max() < 0.04


def test_200_sphere_frames_cover_every_roll_bin_and_view():
  frames = _metas("sphere")
  roll = np.abs([f.meta["roll_deg"] for f in frames])
  counts = np.histogram(roll, [0, 60, 120, 180])[0]
  assert np.all(counts >= 40), counts
  signed = np.histogram([f.meta["roll_deg"] for f in frames], np.linspace(-180, 180, 9))[0]
  assert np.all(signed >= 10), signed
  classes = collections.Counter(f.meta["view"] for f in frames)
  assert min(classes[v] for v in ("palm", "back", "side")) >= 30, classes
  towards = np.array([f.meta["fingers_towards_cos"] for f in frames])
  assert np.sum(towards > 0.7) >= 10 and np.sum(towards < -0.7) >= 10
  kinds = collections.Counter(f.pose.kind for f in frames)
  assert set(kinds) == {"open", "spread", "fist", "point", "pinch", "random"}, kinds


def test_hands_lie_in_the_image_at_350_to_800_mm():
  frames = _metas("sphere")
  distance = np.array([f.meta["distance_mm"] for f in frames])
  assert distance.min() >= 350.0 and np.mean(distance <= 800.0) > 0.95
  assert distance.max() - distance.min() > 350.0
  for frame in frames:
    assert frame.xyz[:, 2].min() > 100.0
    assert np.all(frame.uv >= 0) and np.all(frame.uv <= [CAMERA.width - 1, CAMERA.height - 1])
  edge = [np.min(np.concatenate([f.uv, [CAMERA.width - 1, CAMERA.height - 1] - f.uv], axis=1))
          for f in frames]
  assert np.mean(np.array(edge) < 30) > 0.05  # some joints near the edge


def test_frontal_views_face_the_camera_fingers_up():
  frames = _metas("frontal", 100)
  # The palm normal lies within the tilt cone about the optical axis, either way round.
  normal_z = np.array([f.meta["palm_normal"][2] for f in frames])
  assert np.all(np.abs(normal_z) >= np.cos(np.radians(views.FRONTAL_TILT_DEG)) - 1e-9)
  assert 0.3 < np.mean(normal_z < 0) < 0.7
  assert np.abs([f.meta["roll_deg"] for f in frames]).max() < 75.0


def test_the_forearm_does_not_come_at_the_camera_when_it_need_not():
  # The camera stands in front of the person: unless the fingers point away from it, the
  # forearm (the body's first frustum) runs from the wrist sideways or away.
  frames = [f for f in _metas("sphere") if f.meta["fingers_towards_cos"] > -0.3]
  assert len(frames) > 40
  for frame in frames:
    direction = frame.body.frustum_axes[0][:, 2]
    assert direction[2] >= -scene.FOREARM_MAX_TOWARDS - 1e-9, frame.meta
