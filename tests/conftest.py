"""Shared test fixtures and paths; `make_records` makes frame records with random depth and
labels (format round trips, the input pipeline)."""

import inspect
import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol.data import records

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def shared_data():
  """The `../shared/data` folder; tests that need it skip when a clone has none."""
  if not SHARED_DATA.is_dir():
    pytest.skip(f"{SHARED_DATA} is absent (a clone without ../shared)")
  return SHARED_DATA


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


class LayerModel(keras.Model):
  """A model around one layer whose loss is the mean square distance of its float outputs to
  1, so that `fit` runs a real gradient step through it (also where an output starts at 0)."""

  def __init__(self, layer):
    super().__init__()
    self.layer = layer

  def call(self, inputs):
    return self.layer(*inputs)

  def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
    del x, y, sample_weight, training
    floats = [keras.ops.cast(t, "float32") for t in keras.tree.flatten(y_pred)
              if "float" in str(t.dtype)]
    return keras.ops.sum(keras.ops.stack(
        [keras.ops.mean(keras.ops.square(t - 1.0)) for t in floats]))


def _symbolic(value):
  value = np.asarray(value)
  return keras.Input(shape=value.shape[1:], dtype=str(value.dtype))


def run_layer_test(make_layer, inputs, tmp_path):
  """The shared layer test (keras-hub's `run_layer_test`): config round trip, build, eager and
  symbolic calls, a `fit` step, and saving and loading.

  Args:
    make_layer: A function of no arguments returning the layer.
    inputs: The call's positional arguments, numpy arrays with a leading batch dimension.
    tmp_path: A folder for the saved model.
  """
  layer = make_layer()
  config = layer.get_config()
  arguments = [name for name, parameter in inspect.signature(type(layer).__init__).parameters
               .items() if name != "self" and parameter.kind is parameter.POSITIONAL_OR_KEYWORD]
  assert not set(arguments) - set(config), "get_config misses __init__ arguments"
  assert type(layer).from_config(config).get_config() == config
  restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
  assert type(restored) is type(layer) and restored.get_config() == config

  eager = layer(*inputs)
  assert layer.built
  eager_flat = [np.asarray(t) for t in keras.tree.flatten(eager)]
  assert all(np.all(np.isfinite(t)) for t in eager_flat if t.dtype.kind == "f")
  symbolic_inputs = [_symbolic(value) for value in inputs]
  symbolic = layer(*symbolic_inputs)
  for tensor, value in zip(keras.tree.flatten(symbolic), eager_flat):
    assert tuple(tensor.shape)[1:] == value.shape[1:]
    assert tensor.shape[0] in (None, value.shape[0])

  trained = LayerModel(make_layer())
  trained.compile(optimizer=keras.optimizers.SGD(1e-3))
  trained(tuple(inputs))
  before = [np.array(w) for w in trained.trainable_weights]
  history = trained.fit(tf.data.Dataset.from_tensors((tuple(inputs),)), epochs=1, verbose=0)
  assert np.isfinite(history.history["loss"][0])
  if before:
    assert any(not np.array_equal(b, np.array(w))
               for b, w in zip(before, trained.trainable_weights)), "fit changed no weight"

  model = keras.Model(symbolic_inputs, symbolic)
  path = tmp_path / f"{type(layer).__name__}.keras"
  model.save(path)
  loaded = keras.saving.load_model(path)
  assert type(loaded.layers[-1]) is type(layer)
  for expected, got in zip(keras.tree.flatten(model(inputs)), keras.tree.flatten(loaded(inputs))):
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-6, atol=1e-6)


@pytest.fixture(name="run_layer_test")
def run_layer_test_fixture(tmp_path):
  """`run_layer_test` with this test's temporary folder."""
  return lambda make_layer, inputs: run_layer_test(make_layer, inputs, tmp_path)
