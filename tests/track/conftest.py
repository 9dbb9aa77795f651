"""A tiny checkpoint for the tracking tests."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol.model import hand_pose_model
from handvol.track import tracker

SEED = 5


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
  """A `.keras` checkpoint of a width-4 model whose random head makes θ and β depend on the
  image (a zero head would predict one pose for every frame)."""
  keras.utils.set_random_seed(SEED)
  model = hand_pose_model.HandPoseModel(encoder_width=4, blocks_per_stage=(1, 1, 1, 1))
  model({"depth_input": tf.zeros([1, 128, 128, 1]), "center_xyz": tf.zeros([1, 3])})
  kernel = model.encoder.head.kernel
  kernel.assign(np.random.default_rng(SEED).normal(0.0, 0.3, kernel.shape))
  path = tmp_path_factory.mktemp("model") / "tiny.keras"
  model.save(path)
  return str(path)


@pytest.fixture(scope="session")
def predictor(checkpoint):
  """A `tracker.FramePredictor` of `checkpoint` (traced once for all the tests)."""
  return tracker.FramePredictor(checkpoint)
