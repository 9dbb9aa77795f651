"""A synthetic depth scene with keypoints lying exactly on its surface."""

import numpy as np
import pytest

from handvol.data import records

INTRINSICS = (310.0, 305.0, 165.0, 118.0)
HEIGHT, WIDTH = 240, 320


def plane_scene(rng, normal=(0.15, -0.1, -1.0), anchor=(-20.0, 10.0, 520.0), radius=90.0):
  """A tilted disc (radius mm) in front of nothing: depth of the plane inside the disc, 0
  elsewhere; 21 keypoints on the disc as 3D labels."""
  fx, fy, cx, cy = INTRINSICS
  normal = np.asarray(normal) / np.linalg.norm(normal)
  anchor = np.asarray(anchor)
  v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
  rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1)
  depth = (normal @ anchor) / (rays @ normal)
  points = rays * depth[..., None]
  depth = np.where(np.linalg.norm(points - anchor, axis=-1) < radius, depth, 0.0)
  # Keypoints: random points of the disc, well inside it.
  basis = np.linalg.svd(normal[None])[2][1:]
  offsets = rng.uniform(-0.5, 0.5, (records.NUM_KEYPOINTS, 2)) * radius
  xyz = anchor + offsets @ basis
  return depth, xyz


@pytest.fixture
def scene_record():
  """Factory: a frame record of `plane_scene` with all 21 keypoints as 3D labels."""
  def make(seed=0, **kwargs):
    depth, xyz = plane_scene(np.random.default_rng(seed), **kwargs)
    return records.make_record(depth, INTRINSICS, "synthetic", xyz=xyz, truth_xyz=xyz)
  return make
