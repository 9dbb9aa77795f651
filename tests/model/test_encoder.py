"""Tests of the ResNet encoder."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.model import encoder

# torchvision's ResNet-18 has 11,689,512 parameters: 11,176,512 in the trunk (3-channel stem)
# and 513,000 in its 1000-way classifier. One input channel removes 2·7·7·64 stem weights and
# our head has 512·46 + 46.
RESNET18_TRAINABLE = 11_176_512 - 2 * 7 * 7 * 64 + 512 * 46 + 46


def test_default_is_resnet18():
  layer = encoder.ResNetEncoder()
  layer.build((None, 128, 128, 1))
  trainable = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
  assert trainable == RESNET18_TRAINABLE
  assert len(layer.blocks) == 8


def test_output_shape_and_width():
  layer = encoder.ResNetEncoder(num_outputs=46, width=8)
  outputs = layer(tf.random.normal([2, 128, 128, 1]), training=True)
  assert outputs.shape == (2, 46)
  assert layer.blocks[-1].filters == 64
  assert np.all(np.isfinite(outputs))


def test_untrained_outputs_are_zero_but_trainable():
  layer = encoder.ResNetEncoder(width=8)
  inputs = tf.random.uniform([2, 128, 128, 1], -1.0, 1.0)
  with tf.GradientTape() as tape:
    outputs = layer(inputs, training=True)
    total = tf.reduce_sum(outputs)
  np.testing.assert_array_equal(outputs, np.zeros([2, 46]))
  gradient = tape.gradient(total, layer.head.kernel)
  assert np.max(np.abs(gradient)) > 0.0


def test_rejects_wrong_rank():
  with pytest.raises(ValueError, match="inputs"):
    encoder.ResNetEncoder(width=8)(tf.zeros([128, 128, 1]))
