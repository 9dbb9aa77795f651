"""An exported small model and depth frames for the export tests."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol.data.synthetic import poses
from handvol.data.synthetic import raycast
from handvol.data.synthetic import scene
from handvol.data.synthetic import subjects
from handvol.data.synthetic import surface
from handvol.export import export
from handvol.model import hand_pose_model

INTRINSICS = np.array([240.0, 238.0, 80.5, 60.5], np.float32)
HEIGHT, WIDTH = 120, 160
SEED = 3


def hand_frame(center_xyz=(-20.0, 15.0, 500.0), variant=0, background_mm=900.0):
  """A depth frame (mm) of the generator's hand in front of a wall: subject 0's hand in a
  frontal view, its pose, view and wrist angle drawn from seed `variant`, its keypoints' mean at
  `center_xyz`, with its forearm tilted away from the camera; the wall at `background_mm`
  elsewhere, and a 4-pixel band of no measurement on the left. A hand that the shipped centre
  refiner takes for one (a plain ball it need not: from the side, an arm's end is round too)."""
  rng = np.random.default_rng(variant)
  subject = subjects.make_subject(0)
  config = scene.SceneConfig(view=poses.VIEW_PRESETS["frontal"])
  keypoints, bone_frames, forearm = scene.posed_hand(subject, np.asarray(center_xyz), config,
                                                     rng)
  forearm[2] = max(forearm[2], 0.3)  # away from the camera
  built, _ = surface.build_surface(keypoints, bone_frames, subject.bone_radius_scale,
                                   subject.palm_thickness_scale,
                                   forearm / np.linalg.norm(forearm))
  image = raycast.render(built, INTRINSICS.astype(np.float64), HEIGHT, WIDTH)
  depth = np.where(image["depth"] > 0, image["depth"], background_mm)
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
