"""Frame records with random depth and labels for the format round trips."""

import numpy as np
import pytest

from handvol.data import records


def random_record(rng, dataset, intrinsics, shape=(48, 64), integer_depth=True, subject=0):
  """Depth with holes and a full 21-keypoint truth in front of the camera, inside the image."""
  depth = rng.uniform(300, 3000, shape)
  depth = np.rint(depth) if integer_depth else np.rint(depth * 8) / 8
  depth[rng.uniform(size=shape) < 0.2] = 0
  height, width = shape
  fx, fy, cx, cy = intrinsics
  uv = rng.uniform([2, 2], [width - 3, height - 3], (records.NUM_KEYPOINTS, 2))
  z = rng.uniform(400, 700, records.NUM_KEYPOINTS)
  xyz = np.stack([(uv[:, 0] - cx) * z / fx, (uv[:, 1] - cy) * z / fy, z], axis=-1)
  return records.make_record(depth, intrinsics, dataset, xyz=xyz, truth_xyz=xyz,
                             subject=subject)


@pytest.fixture
def make_records():
  """Factory: `count` random frame records of one dataset."""
  def make(count, dataset="synthetic", intrinsics=(100.0, 101.0, 31.5, 23.5), seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    return [random_record(rng, dataset, intrinsics, **kwargs) for _ in range(count)]
  return make
