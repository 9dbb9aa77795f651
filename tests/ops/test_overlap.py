"""The compiled Gaussian overlap op against its pure-TF twin: values, gradients, graphs, Keras,
distribution, the fallback switch and the build record."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol import ops
from handvol.ops import build
from handvol.ops import overlap
from handvol.ops import testing

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
RTOL = 1e-5


def _random_inputs(rng, batch=3, n_i=200, n_m=20, dtype=np.float32):
  image = np.stack([rng.uniform(0, 64, [batch, n_i]), rng.uniform(0, 64, [batch, n_i]),
                    rng.uniform(0.5, 6, [batch, n_i]), rng.uniform(450, 550, [batch, n_i])], -1)
  model = np.stack([rng.uniform(0, 64, [batch, n_m]), rng.uniform(0, 64, [batch, n_m]),
                    rng.uniform(1, 8, [batch, n_m]), rng.uniform(450, 550, [batch, n_m])], -1)
  return {"image_gaussians": image.astype(dtype),
          "image_mask": (rng.uniform(size=[batch, n_i]) > 0.3).astype(dtype),
          "model_gaussians": model.astype(dtype),
          "model_sigma_3d": rng.uniform(4, 20, [batch, n_m]).astype(dtype)}


def _both(inputs):
  return (ops.gaussian_overlap(**inputs).numpy(),
          ops.gaussian_overlap_reference(**inputs).numpy())


def _gradients(fn, inputs):
  model = tf.constant(inputs["model_gaussians"])
  sigma_3d = tf.constant(inputs["model_sigma_3d"])
  weights = tf.range(1, model.shape[0] + 1, dtype=model.dtype)
  with tf.GradientTape() as tape:
    tape.watch([model, sigma_3d])
    value = tf.reduce_sum(weights * fn(inputs["image_gaussians"], inputs["image_mask"], model,
                                       sigma_3d))
  return [g.numpy() for g in tape.gradient(value, [model, sigma_3d])]


def _assert_close_to_scale(actual, expected, rtol=RTOL):
  """|actual − expected| ≤ rtol·max|expected| (gradient entries may cancel to ~0)."""
  np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * np.abs(expected).max())


def test_the_compiled_library_is_in_use_and_matches_this_tensorflow():
  assert ops.compiled_op_in_use(), overlap._state["problem"]
  assert ops.build_info()["tensorflow_version"] == tf.__version__
  graph = tf.function(ops.gaussian_overlap).get_concrete_function(
      **_random_inputs(np.random.default_rng(0))).graph
  assert overlap.OP_NAME in {op.type for op in graph.get_operations()}


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc on PATH")
def test_the_cuda_kernels_were_compiled_with_the_nvcc_on_path():
  info = ops.build_info()
  release = re.search(r"release ([\d.]+)", subprocess.run(
      ["nvcc", "--version"], capture_output=True, text=True, check=True).stdout).group(1)
  assert info["cuda"] and info["nvcc_version"] == release and info["cuda_archs"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_op_matches_reference_on_random_inputs(dtype):
  op, ref = _both(_random_inputs(np.random.default_rng(1), dtype=dtype))
  assert op.dtype == dtype
  np.testing.assert_allclose(op, ref, rtol=RTOL)


@pytest.mark.parametrize("split_depth_range_mm", [20.0, 2.0])
def test_op_matches_reference_on_tiled_depth_crops(split_depth_range_mm):
  inputs = testing.overlap_inputs(np.random.default_rng(2), 4, 1024, 48,
                                  split_depth_range_mm=split_depth_range_mm)
  leaves = inputs["image_mask"].sum(axis=1)
  assert np.all(leaves > 0) and (np.all(leaves < 1024) or split_depth_range_mm < 20)
  op, ref = _both(inputs)
  assert np.all(ref > 0)
  np.testing.assert_allclose(op, ref, rtol=RTOL)


def test_padding_is_ignored_and_an_all_padded_element_gives_zero():
  inputs = _random_inputs(np.random.default_rng(3))
  inputs["image_mask"][1] = 0.0
  padded = {k: v.copy() for k, v in inputs.items()}
  padded["image_gaussians"][padded["image_mask"] == 0] = [7.0, 9.0, 0.0, 500.0]
  op, ref = _both(padded)
  assert op[1] == 0.0 and ref[1] == 0.0
  np.testing.assert_allclose(op, ref, rtol=RTOL)
  np.testing.assert_allclose(op, ops.gaussian_overlap(**inputs).numpy(), rtol=RTOL)
  for op_grad, ref_grad in zip(_gradients(ops.gaussian_overlap, padded),
                               _gradients(ops.gaussian_overlap_reference, padded)):
    assert not np.any(op_grad[1])
    _assert_close_to_scale(op_grad, ref_grad)


def test_pairs_exactly_at_the_depth_boundary_contribute_nothing():
  # |z_i − z_p| = 2σ_h exactly (all values are exact in binary): Δ = 0, value and gradient 0.
  image = np.array([[[10.0, 10.0, 2.0, 500.0], [11.0, 10.0, 1.0, 540.0],
                     [12.0, 9.0, 3.0, 519.0]]], np.float32)
  model = np.array([[[10.5, 10.0, 2.0, 520.0]]], np.float32)
  inputs = {"image_gaussians": image, "image_mask": np.ones([1, 3], np.float32),
            "model_gaussians": model, "model_sigma_3d": np.array([[10.0]], np.float32)}
  op, ref = _both(inputs)
  np.testing.assert_allclose(op, ref, rtol=RTOL)
  only_inside = dict(inputs, image_mask=np.array([[0.0, 0.0, 1.0]], np.float32))
  np.testing.assert_allclose(op, ops.gaussian_overlap(**only_inside).numpy(), rtol=RTOL)
  for op_grad, ref_grad in zip(_gradients(ops.gaussian_overlap, inputs),
                               _gradients(ops.gaussian_overlap_reference, inputs)):
    _assert_close_to_scale(op_grad, ref_grad)


def test_depth_buckets_with_equal_depths_and_far_model_gaussians():
  inputs = _random_inputs(np.random.default_rng(12), batch=2)
  inputs["image_gaussians"][0, :, 3] = 500.0  # One depth: a single bucket.
  inputs["model_gaussians"][1, :4, 3] = [100.0, 900.0, 449.0, 551.0]  # Outside, at the ends.
  inputs["model_sigma_3d"][1, :2] = -3.0  # A negative σ_h weighs every pair.
  op, ref = _both(inputs)
  np.testing.assert_allclose(op, ref, rtol=RTOL)
  for op_grad, ref_grad in zip(_gradients(ops.gaussian_overlap, inputs),
                               _gradients(ops.gaussian_overlap_reference, inputs)):
    _assert_close_to_scale(op_grad, ref_grad)


def test_very_small_and_zero_sigmas_stay_finite_and_agree():
  inputs = _random_inputs(np.random.default_rng(4), dtype=np.float64)
  inputs["image_gaussians"][:, :50, 2] = 1e-4
  inputs["image_gaussians"][:, 50:60, 2] = 0.0
  inputs["model_gaussians"][:, :5, 2] = 1e-5
  inputs["model_gaussians"][:, 5:7, 2] = 0.0
  inputs["image_gaussians"][:, 50:60, :2] = inputs["model_gaussians"][:, 5:6, :2]
  op, ref = _both(inputs)
  np.testing.assert_allclose(op, ref, rtol=RTOL)
  for op_grad, ref_grad in zip(_gradients(ops.gaussian_overlap, inputs),
                               _gradients(ops.gaussian_overlap_reference, inputs)):
    assert np.all(np.isfinite(op_grad))
    _assert_close_to_scale(op_grad, ref_grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_self_overlap_op_matches_reference(dtype):
  inputs = testing.overlap_inputs(np.random.default_rng(13), 3, 700, 1, dtype=dtype,
                                  split_depth_range_mm=2.0)
  image, mask = inputs["image_gaussians"], inputs["image_mask"]
  mask[1, 100:] = 0.0
  mask[2] = 0.0
  image[0, :20, 2] = 0.0  # Zero sigmas: guarded, finite.
  op = ops.image_self_overlap(image, mask).numpy()
  ref = ops.image_self_overlap_reference(image, mask).numpy()
  assert op.dtype == dtype and op[2] == 0.0
  np.testing.assert_allclose(op, ref, rtol=RTOL)
  graph = tf.function(ops.image_self_overlap).get_concrete_function(image, mask).graph
  assert overlap.SELF_OVERLAP_OP_NAME in {op.type for op in graph.get_operations()}
  with pytest.raises(ValueError, match="image_mask"):
    ops.image_self_overlap(image, mask[:, :5])


def test_gradient_check_float64():
  inputs = _random_inputs(np.random.default_rng(5), batch=2, n_i=60, n_m=6, dtype=np.float64)
  image, mask = inputs["image_gaussians"], inputs["image_mask"]

  def overlap_of(model, sigma_3d):
    return ops.gaussian_overlap(image, mask, model, sigma_3d)

  theoretical, numerical = tf.test.compute_gradient(
      overlap_of, [inputs["model_gaussians"], inputs["model_sigma_3d"]], delta=1e-5)
  for t, n in zip(theoretical, numerical):
    assert np.abs(t - n).max() / np.abs(n).max() <= 1e-6


def test_gradients_match_autodiff_of_the_reference_float32():
  inputs = testing.overlap_inputs(np.random.default_rng(6), 3, 512, 48)
  for op_grad, ref_grad in zip(_gradients(ops.gaussian_overlap, inputs),
                               _gradients(ops.gaussian_overlap_reference, inputs)):
    _assert_close_to_scale(op_grad, ref_grad)


def test_image_inputs_get_no_gradient_on_either_path(monkeypatch):
  inputs = {k: tf.constant(v) for k, v in _random_inputs(np.random.default_rng(7)).items()}
  for force in ("0", "1"):
    monkeypatch.setenv(overlap.FORCE_PURE_TF_ENV, force)
    with tf.GradientTape() as tape:
      tape.watch(inputs["image_gaussians"])
      value = tf.reduce_sum(ops.gaussian_overlap(**inputs))
    assert tape.gradient(value, inputs["image_gaussians"]) is None


def test_inside_tf_function_with_unknown_sizes():
  inputs = _random_inputs(np.random.default_rng(8))
  spec = [tf.TensorSpec([None, None, 4]), tf.TensorSpec([None, None]),
          tf.TensorSpec([None, None, 4]), tf.TensorSpec([None, None])]

  @tf.function(input_signature=spec)
  def value_and_grad(image, mask, model, sigma_3d):
    with tf.GradientTape() as tape:
      tape.watch(model)
      value = ops.gaussian_overlap(image, mask, model, sigma_3d)
    return value, tape.gradient(value, model)

  value, grad = value_and_grad(*inputs.values())
  np.testing.assert_allclose(value.numpy(), ops.gaussian_overlap_reference(**inputs).numpy(),
                             rtol=RTOL)
  assert grad.shape == inputs["model_gaussians"].shape
  with pytest.raises(tf.errors.InvalidArgumentError, match="model_sigma_3d must have shape"):
    value_and_grad(inputs["image_gaussians"], inputs["image_mask"], inputs["model_gaussians"],
                   inputs["model_sigma_3d"][:, :3])


def test_force_pure_tf_switches_to_the_reference(monkeypatch):
  inputs = _random_inputs(np.random.default_rng(9))
  monkeypatch.setenv(overlap.FORCE_PURE_TF_ENV, "1")
  assert not ops.compiled_op_in_use()
  graph = tf.function(ops.gaussian_overlap).get_concrete_function(**inputs).graph
  assert overlap.OP_NAME not in {op.type for op in graph.get_operations()}
  np.testing.assert_allclose(ops.gaussian_overlap(**inputs).numpy(),
                             ops.gaussian_overlap_reference(**inputs).numpy(), rtol=RTOL)


def _fresh_loader_state(monkeypatch):
  monkeypatch.setattr(overlap, "_state", {"attempted": False, "library": None, "path": None,
                                          "problem": None, "warned": False})
  monkeypatch.delenv(overlap.FORCE_PURE_TF_ENV, raising=False)


def test_a_library_that_cannot_be_built_warns_once_in_one_line_and_falls_back(monkeypatch,
                                                                               tmp_path):
  monkeypatch.setenv(build.CACHE_ENV, str(tmp_path))
  monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
  _fresh_loader_state(monkeypatch)
  inputs = _random_inputs(np.random.default_rng(10))
  with pytest.warns(RuntimeWarning, match=r"no C\+\+ compiler .*install g\+\+") as caught:
    value = ops.gaussian_overlap(**inputs).numpy()
  assert "\n" not in str(caught[0].message)
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    ops.gaussian_overlap(**inputs)
  assert not ops.compiled_op_in_use() and ops.build_info() is None and ops.cpu_isa() is None
  np.testing.assert_allclose(value, ops.gaussian_overlap_reference(**inputs).numpy(), rtol=RTOL)


def test_a_library_built_for_another_tensorflow_is_not_loaded(monkeypatch, tmp_path):
  library = overlap._state["path"] or build.ensure_library()
  shutil.copy(library, tmp_path / build.LIBRARY_NAME)
  (tmp_path / build.BUILD_INFO_NAME).write_text(json.dumps({"tensorflow_version": "2.0.0"}))
  monkeypatch.setattr(build, "ensure_library", lambda: tmp_path / build.LIBRARY_NAME)
  _fresh_loader_state(monkeypatch)
  with pytest.warns(RuntimeWarning, match=r"built for TensorFlow 2\.0\.0.*delete"):
    assert not ops.compiled_op_in_use()


def test_shape_errors_name_the_argument():
  inputs = _random_inputs(np.random.default_rng(11))
  with pytest.raises(ValueError, match="model_sigma_3d"):
    ops.gaussian_overlap(**dict(inputs, model_sigma_3d=inputs["model_sigma_3d"][:, :4]))
  with pytest.raises(ValueError, match="image_gaussians must have exactly 4"):
    ops.gaussian_overlap(**dict(inputs, image_gaussians=inputs["image_gaussians"][..., :3]))
  with pytest.raises(ValueError, match="model_gaussians and model_sigma_3d must agree"):
    ops.gaussian_overlap(**dict(inputs, model_gaussians=inputs["model_gaussians"][:, :2]))
  with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
    overlap.load_library().handvol_gaussian_overlap(
        inputs["image_gaussians"], inputs["image_mask"][:, :5], inputs["model_gaussians"],
        inputs["model_sigma_3d"])


class _OverlapLayer(keras.layers.Layer):
  """Learns an offset of the model Gaussians that maximises their overlap with the image."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.supports_jit = False

  def build(self, input_shape):
    self.offset = self.add_weight(shape=[4], initializer="zeros", name="offset")

  def call(self, inputs):
    model = inputs["model_gaussians"] + self.offset
    return ops.gaussian_overlap(inputs["image_gaussians"], inputs["image_mask"], model,
                                inputs["model_sigma_3d"])


def _fit_script():
  """Source of a function fit(strategy) -> (first loss, last loss), shared with the subprocess."""
  return '''
import keras
import numpy as np
import tensorflow as tf
from handvol.ops import testing


def fit(strategy, layer_class):
  inputs = testing.overlap_inputs(np.random.default_rng(12), 8, 256, 16)
  inputs["model_gaussians"][..., :2] += 3.0
  data = tf.data.Dataset.from_tensor_slices((inputs, np.zeros([8], np.float32))).batch(4)
  with strategy.scope():
    keys = ("image_gaussians", "image_mask", "model_gaussians", "model_sigma_3d")
    shapes = ([256, 4], [256], [16, 4], [16])
    model_inputs = {k: keras.Input(s, name=k) for k, s in zip(keys, shapes)}
    model = keras.Model(model_inputs, layer_class()(model_inputs))
    model.compile(keras.optimizers.Adam(0.1), loss=lambda _, y: -y / 1000.0)
  history = model.fit(data, epochs=5, verbose=0, shuffle=False).history["loss"]
  return history[0], history[-1]
'''


def test_trains_inside_a_keras_layer_with_model_fit():
  namespace = {}
  exec(_fit_script(), namespace)  # pylint: disable=exec-used
  first, last = namespace["fit"](tf.distribute.get_strategy(), _OverlapLayer)
  assert np.isfinite(last) and last < first


@pytest.mark.slow
def test_trains_under_mirrored_strategy_on_two_logical_cpus():
  layer_source = ("import keras\nfrom handvol import ops\n" +
                  __import__("inspect").getsource(_OverlapLayer))
  script = (layer_source + _fit_script() + '''
import json
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
first, last = fit(strategy, _OverlapLayer)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "first": first, "last": last,
                  "compiled": ops.compiled_op_in_use()}))
''')
  result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  assert report["replicas"] == 2 and report["compiled"]
  assert np.isfinite(report["last"]) and report["last"] < report["first"]
