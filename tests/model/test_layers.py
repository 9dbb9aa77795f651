"""The shared layer test (`run_layer_test` in tests/conftest.py: config round trip, build, eager
and symbolic calls, a `fit` step, saving and loading) on every Keras layer of handvol.

`HandPoseModel`, a `keras.Model` over a dict of examples, has its own fit, predict and save
tests in `test_hand_pose_model.py`.
"""

import importlib
import inspect
import pkgutil

import keras
import numpy as np
import pytest

import handvol
from handvol.hand import skeleton
from handvol.losses import bone_length
from handvol.losses import collision
from handvol.losses import dissimilarity
from handvol.losses import joint_limits
from handvol.losses import keypoints
from handvol.model import decoder
from handvol.model import encoder
from handvol.model import hand_layer
from handvol.model import head

RNG = np.random.default_rng(0)
BATCH = 2


def _uniform(low, high, *shape):
  return RNG.uniform(low, high, (BATCH,) + shape).astype(np.float32)


def _gaussians(count):
  """Image-space Gaussians (u, v px, σ px, z mm) `[BATCH, count, 4]`."""
  return np.concatenate([_uniform(0, 32, count, 2), _uniform(1, 4, count, 1),
                         _uniform(480, 520, count, 1)], axis=-1)


INTRINSICS = np.tile(np.float32([[200.0, 200.0, 16.0, 16.0]]), [BATCH, 1])

LAYERS = {
    "ResNetEncoder": (lambda: encoder.ResNetEncoder(width=4, blocks_per_stage=(1, 1, 1, 1)),
                      lambda: [_uniform(-1, 1, 32, 32, 1)]),
    "PoseHead": (lambda: head.PoseHead(translation_scale_mm=100.0, articulation="bounded"),
                 lambda: [_uniform(-1, 1, head.NUM_OUTPUTS), _uniform(0, 500, 3)]),
    "PoseHead6d": (lambda: head.PoseHead(rotation="6d"),
                   lambda: [_uniform(-1, 1, head.num_outputs("6d")), _uniform(0, 500, 3)]),
    "HandModelLayer": (hand_layer.HandModelLayer,
                       lambda: [_uniform(-0.2, 0.2, skeleton.NUM_THETA),
                                _uniform(-1, 1, skeleton.NUM_BETA)]),
    "GaussianDecoder": (decoder.GaussianDecoder,
                        lambda: [_uniform(-50, 50, 5, 3) + np.float32([0, 0, 500]),
                                 _uniform(5, 10, 5), INTRINSICS]),
    "DissimilarityLoss": (dissimilarity.DissimilarityLoss,
                          lambda: [_gaussians(6), np.ones([BATCH, 6], np.float32), _gaussians(4),
                                   _uniform(5, 10, 4), _uniform(50, 100)]),
    "CollisionLoss": (lambda: collision.CollisionLoss(sigmas=[5.0, 6.0], pairs=[[0, 1]]),
                      lambda: [_uniform(-10, 10, 2, 3)]),
    "BoneLengthLoss": (bone_length.BoneLengthLoss, lambda: [_uniform(-1, 1, skeleton.NUM_BETA)]),
    "JointLimitLoss": (lambda: joint_limits.JointLimitLoss(lower=[-1.0], upper=[1.0]),
                       lambda: [_uniform(-2, 2, 1)]),
    "KeypointLoss": (lambda: keypoints.KeypointLoss(slack_mm=5.0, keypoints=(0, 4)),
                     lambda: [_uniform(-50, 50, 21, 3) + np.float32([0, 0, 500]),
                              _uniform(0, 32, 21, 2), _uniform(-50, 50, 21, 3),
                              np.full([BATCH, 21], 2, np.int32),
                              np.ones([BATCH, 21], np.float32), INTRINSICS]),
}
"""Each public layer's name → (a function making it, a function making its call's inputs)."""


def _handvol_layers():
  """The public `keras.layers.Layer` classes defined in handvol (not models, not ops)."""
  found = set()
  for info in pkgutil.walk_packages(handvol.__path__, "handvol."):
    if info.name.startswith(("handvol.annotate", "handvol.ops")) or info.name.endswith(
        "__main__"):
      continue
    module = importlib.import_module(info.name)
    for name, value in inspect.getmembers(module, inspect.isclass):
      if (value.__module__ == module.__name__ and issubclass(value, keras.layers.Layer)
          and not issubclass(value, keras.Model) and not name.startswith("_")):
        found.add(name)
  return found


def test_every_layer_is_in_the_shared_test():
  # A name may carry a variant's suffix ("PoseHead6d" is PoseHead with the 6D rotation).
  assert _handvol_layers() == {name.removesuffix("6d") for name in LAYERS}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer(name, run_layer_test):
  make_layer, make_inputs = LAYERS[name]
  run_layer_test(make_layer, make_inputs())


def test_hand_layer_keeps_a_custom_bone_model():
  layer = hand_layer.HandModelLayer(bone_mean=np.full([20], 30.0),
                                    bone_basis=np.eye(20) * 2.0)
  restored = hand_layer.HandModelLayer.from_config(layer.get_config())
  np.testing.assert_allclose(restored.bone_mean, 30.0)
  np.testing.assert_allclose(restored.bone_basis, np.eye(20) * 2.0)
