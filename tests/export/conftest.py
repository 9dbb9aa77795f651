"""An exported small model and depth frames for the export tests."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol.export import export
from handvol.model import hand_pose_model

INTRINSICS = np.array([240.0, 238.0, 80.5, 60.5], np.float32)
HEIGHT, WIDTH = 120, 160
SEED = 3


def blob_frame(center_xyz=(-20.0, 15.0, 330.0), radius_mm=60.0, background_mm=700.0):
  """A depth frame (mm) of a sphere in front of a wall: the sphere's front surface where the
  ray hits it, the wall elsewhere, and a 4-pixel band of no measurement on the left."""
  fx, fy, cx, cy = INTRINSICS
  v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
  rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1)
  rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
  center = np.asarray(center_xyz)
  along = rays @ center
  gap = along**2 - (center @ center - radius_mm**2)
  distance = along - np.sqrt(np.maximum(gap, 0.0))
  depth = np.where(gap > 0, distance * rays[..., 2], background_mm)
  depth[:, :4] = 0.0
  return depth.astype(np.float32)


def small_model(random_head):
  """A built `HandPoseModel` of width 4; `random_head` replaces the zero-initialised dense
  head so that the outputs depend on the image."""
  keras.utils.set_random_seed(SEED)
  model = hand_pose_model.HandPoseModel(encoder_width=4, blocks_per_stage=(1, 1, 1, 1))
  model({"depth_input": tf.zeros([1, 128, 128, 1]), "center_xyz": tf.zeros([1, 3])})
  if random_head:
    kernel = model.encoder.head.kernel
    kernel.assign(np.random.default_rng(SEED).normal(0.0, 0.3, kernel.shape))
  return model


@pytest.fixture(scope="session")
def trained_like(tmp_path_factory):
  """(model with a random head, path of its export)."""
  model = small_model(random_head=True)
  return model, export.export_model(model, str(tmp_path_factory.mktemp("exports")), "handvol",
                                    1)


@pytest.fixture(scope="session")
def untrained_export(tmp_path_factory):
  """Path of the export of an untrained model (zero head: its outputs do not depend on the
  encoder's weights, so they are reproducible anywhere)."""
  return export.export_model(small_model(random_head=False),
                             str(tmp_path_factory.mktemp("untrained")), "handvol", 1)
