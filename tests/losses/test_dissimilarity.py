"""Tests of the dissimilarity term against hand-computed overlaps."""

import math

import keras
from keras.src.trainers import trainer as keras_trainer
import numpy as np
import tensorflow as tf

from handvol import ops
from handvol.losses import dissimilarity


def test_single_pair_golden_value():
  # Image Gaussian: centre (10, 10), σ_i = 2 px, depth 500 mm. Model: centre (13, 14), σ_p = 2,
  # z_p = 505, σ_h = 10 mm. S = 2π·4·4/8·exp(−25/16) = 4π·e^{−25/16}; Δ = 1 − 5/20 = 0.75.
  # Self-overlap of the image: 2π·16/8 = 4π. So S_sim = 0.75·e^{−25/16}.
  image = np.array([[[10.0, 10.0, 2.0, 500.0]]], np.float32)
  model = np.array([[[13.0, 14.0, 2.0, 505.0]]], np.float32)
  energy = dissimilarity.dissimilarity_energy(image, [[1.0]], model, [[10.0]], [4.0 * math.pi])
  np.testing.assert_allclose(energy, [-0.75 * math.exp(-25.0 / 16.0)], rtol=1e-5)


def test_padding_and_far_depths_contribute_nothing():
  image = np.array([[[10.0, 10.0, 2.0, 500.0], [10.0, 10.0, 2.0, 500.0]]], np.float32)
  near = [[10.0, 10.0, 2.0, 500.0]]
  far = [[10.0, 10.0, 2.0, 520.0]]  # |Δz| = 2σ_h: Δ = 0
  masked = dissimilarity.dissimilarity_energy(image, [[1.0, 0.0]], np.array([near], np.float32),
                                              [[10.0]], [4.0 * math.pi])
  np.testing.assert_allclose(masked, [-1.0], rtol=1e-5)
  distant = dissimilarity.dissimilarity_energy(image, [[1.0, 0.0]], np.array([far], np.float32),
                                               [[10.0]], [4.0 * math.pi])
  np.testing.assert_allclose(distant, [0.0], atol=1e-7)


def test_empty_crop_gives_zero_and_finite_gradient():
  image = tf.zeros([2, 4, 4])
  model = tf.constant(np.tile([[[30.0, 40.0, 3.0, 480.0]]], [2, 1, 1]), tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(model)
    energy = dissimilarity.DissimilarityLoss()(image, tf.zeros([2, 4]), model,
                                               tf.fill([2, 1], 10.0), tf.zeros([2]))
  np.testing.assert_allclose(energy, [0.0, 0.0])
  assert np.all(np.isfinite(tape.gradient(energy, model)))


def test_layer_keeps_xla_off():
  # What Keras' jit_compile="auto" asks of a model (on a GPU it would otherwise pick XLA, which
  # cannot compile the op): a model holding the layer must not support XLA; one without it does.
  inputs = [keras.Input(shape) for shape in ((6, 4), (6,), (4, 4), (4,), ())]
  with_op = keras.Model(inputs, dissimilarity.DissimilarityLoss()(*inputs))
  without = keras.Model(inputs[0], keras.layers.Dense(1)(inputs[0]))
  assert not keras_trainer.model_supports_jit(with_op)
  assert keras_trainer.model_supports_jit(without)


def test_image_self_overlap_skips_only_padding():
  rng = np.random.default_rng(5)
  gaussians = rng.uniform(0, 20, (3, 12, 4)).astype(np.float32)
  counts = [12, 5, 0]
  mask = (np.arange(12)[None] < np.array(counts)[:, None]).astype(np.float32)
  gaussians *= mask[..., None]
  np.testing.assert_allclose(dissimilarity.image_self_overlap(gaussians, mask).numpy(),
                             ops.image_self_overlap(gaussians, mask).numpy(), rtol=1e-5)
