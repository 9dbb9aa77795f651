"""Every public layer of the model and the losses round-trips its config."""

import keras
import numpy as np
import pytest

from handvol.losses import bone_length
from handvol.losses import collision
from handvol.losses import dissimilarity
from handvol.losses import joint_limits
from handvol.losses import keypoints
from handvol.model import decoder
from handvol.model import encoder
from handvol.model import hand_layer
from handvol.model import hand_pose_model
from handvol.model import head

LAYERS = [
    lambda: encoder.ResNetEncoder(width=8, blocks_per_stage=(1, 1, 1, 1)),
    lambda: head.PoseHead(translation_scale_mm=100.0, articulation="bounded"),
    hand_layer.HandModelLayer,
    decoder.GaussianDecoder,
    dissimilarity.DissimilarityLoss,
    lambda: collision.CollisionLoss(sigmas=[5.0, 6.0], pairs=[[0, 1]]),
    bone_length.BoneLengthLoss,
    lambda: joint_limits.JointLimitLoss(lower=[-1.0], upper=[1.0]),
    lambda: keypoints.KeypointLoss(slack_mm=5.0, keypoints=(0, 4)),
    lambda: hand_pose_model.HandPoseModel(encoder_width=4, loss_weights={"collision": 0.0},
                                          supervised_keypoints=(0, 4)),
]


@pytest.mark.parametrize("make", LAYERS)
def test_config_round_trip(make):
  layer = make()
  config = keras.saving.serialize_keras_object(layer)
  restored = keras.saving.deserialize_keras_object(config)
  assert type(restored) is type(layer)
  assert restored.get_config() == layer.get_config()


def test_hand_layer_keeps_a_custom_bone_model():
  layer = hand_layer.HandModelLayer(bone_mean=np.full([20], 30.0),
                                    bone_basis=np.eye(20) * 2.0)
  restored = hand_layer.HandModelLayer.from_config(layer.get_config())
  np.testing.assert_allclose(restored.bone_mean, 30.0)
  np.testing.assert_allclose(restored.bone_basis, np.eye(20) * 2.0)
