"""LiteRT and ONNX files of the shipped model's export give the SavedModel's outputs: on 32
scene frames with the localiser (two cameras, hands and no-hand frames), on frames with given
reference points, on uint16 counts, and on crops."""

import contextlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from handvol import pretrained
from handvol.data.synthetic import scene
from handvol.export import export
from handvol.export import portable
from handvol.export import serving
from handvol.geometry import camera

TOLERANCE_MM = 0.1
"""The acceptance bound on any joint or reference coordinate (float32 kernels differ)."""


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
  """(export path, {format: {signature: file}}) of the shipped model."""
  path = export.export_model(pretrained.load_pretrained(), str(tmp_path_factory.mktemp("rt")),
                             "handvol", 1)
  files = portable.convert(path, portable.FORMATS,
                           [export.SIGNATURE_FRAME, export.SIGNATURE_CROP])
  files["litert"].update(portable.convert(path, ["litert"], [export.SIGNATURE_FRAME_UINT16])
                         ["litert"])
  return path, files


@pytest.fixture(scope="module")
def frames():
  """32 scenes (16 RealSense D435, 16 Kinect v2, seed 2024) and the size they are cut to."""
  chosen = []
  for name in ("realsense_d435", "kinect_v2"):
    chosen += list(scene.generate_scenes(16, scene.SceneConfig(camera=name), seed=2024))
  shapes = {f["counts"].shape for f in chosen}
  height = min(s[0] for s in shapes)
  width = min(s[1] for s in shapes)
  return chosen, height, width


def _batch(chosen, height, width, given):
  """Frame inputs of frames cut to one size (the top-left corner keeps the intrinsics)."""
  intrinsics = np.stack([f["intrinsics"] for f in chosen]).astype(np.float32)
  centre = np.stack([f["centre_xyz"] for f in chosen]).astype(np.float32)
  return {"depth": np.stack([f["counts"][:height, :width] for f in chosen]).astype(np.float32),
          "depth_unit_mm": np.array([f["depth_unit_mm"] for f in chosen], np.float32),
          "intrinsics": intrinsics,
          "reference_uvd": camera.xyz_to_uvd(centre, intrinsics).numpy().astype(np.float32),
          "has_reference": np.full(len(chosen), 1.0 if given else 0.0, np.float32)}


def _saved_model(path, signature, inputs):
  function = tf.saved_model.load(path).signatures[signature]
  return {key: value.numpy()
          for key, value in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def _assert_same(outputs, expected):
  assert sorted(outputs) == sorted(serving.OUTPUT_KEYS)
  for key in ("valid", "reason", "reference_source"):
    np.testing.assert_array_equal(outputs[key], expected[key], err_msg=key)
  for key in ("joints_xyz", "joints_uvd", "reference_xyz", "reference_uvd", "bone_lengths"):
    assert outputs[key].shape == expected[key].shape, key
    difference = np.max(np.abs(outputs[key] - expected[key]))
    assert difference <= TOLERANCE_MM, (key, difference)
  # θ's first three entries are the wrist in mm, the rest radians.
  np.testing.assert_allclose(outputs["theta"][:, :3], expected["theta"][:, :3], atol=TOLERANCE_MM)
  for key, values in (("theta", lambda out: out["theta"][:, 3:]), ("beta", lambda out: out["beta"]),
                      ("confidence", lambda out: out["confidence"])):
    np.testing.assert_allclose(values(outputs), values(expected), atol=1e-3, err_msg=key)


@pytest.mark.parametrize("runtime", portable.FORMATS)
@pytest.mark.parametrize("given", [False, True], ids=["localiser", "given_reference"])
def test_frames_match_the_saved_model(converted, frames, runtime, given):
  path, files = converted
  inputs = _batch(*frames, given=given)
  expected = _saved_model(path, export.SIGNATURE_FRAME, inputs)
  if not given:  # The batch exercises the localiser's hits, misses and no-hand frames.
    assert (expected["reference_source"] == serving.SOURCE_LOCALIZER).all()
    assert expected["valid"].sum() >= 16 and (expected["valid"] == 0).any()
  outputs = portable.Runner(files[runtime][export.SIGNATURE_FRAME], num_threads=2)(**inputs)
  _assert_same(outputs, expected)


def test_uint16_counts_match_in_litert(converted, frames):
  path, files = converted
  inputs = _batch(*frames, given=False)
  inputs["depth"] = inputs["depth"].astype(np.uint16)
  expected = _saved_model(path, export.SIGNATURE_FRAME_UINT16, inputs)
  runner = portable.Runner(files["litert"][export.SIGNATURE_FRAME_UINT16], num_threads=2)
  _assert_same(runner(**inputs), expected)


@pytest.mark.parametrize("runtime", portable.FORMATS)
def test_crops_and_batch_one_match(converted, frames, runtime):
  path, files = converted
  frame_inputs = _batch(*frames, given=True)
  crops = serving.preprocess_frames(**frame_inputs)
  inputs = {"depth_input": crops["depth_input"].numpy(),
            "crop_intrinsics": crops["crop_intrinsics"].numpy(),
            "center_xyz": crops["center_xyz"].numpy()}
  runner = portable.Runner(files[runtime][export.SIGNATURE_CROP], num_threads=2)
  _assert_same(runner(**inputs), _saved_model(path, export.SIGNATURE_CROP, inputs))
  # Batch 1 after batch 32 (LiteRT resizes its inputs).
  one = {key: value[:1] for key, value in inputs.items()}
  _assert_same(runner(**one), _saved_model(path, export.SIGNATURE_CROP, one))


def test_the_segment_handlers_keep_tf_semantics(tmp_path):
  """Sums and minima by rank-1 ids, with an empty segment (0 and float max, as TF)."""
  tf2onnx = pytest.importorskip("tf2onnx")
  spec = [tf.TensorSpec([None, 3], tf.float32, name="data"),
          tf.TensorSpec([None], tf.int32, name="ids")]

  @tf.function(input_signature=spec)
  def reduce(data, ids):
    return {"sum": tf.math.unsorted_segment_sum(data, ids, 4),
            "min": tf.math.unsorted_segment_min(data, ids, 4)}

  path = str(tmp_path / "segments.onnx")
  tf2onnx.convert.from_function(reduce, input_signature=spec, opset=portable.ONNX_OPSET,
                                custom_op_handlers=portable.segment_handlers(),
                                output_path=path)
  data = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
  ids = np.array([0, 2, 0, 3, 2, 2, 0], np.int32)
  outputs = portable.Runner(path, num_threads=1)(data=data, ids=ids)
  expected = reduce(data, ids)
  for key in ("sum", "min"):
    np.testing.assert_allclose(outputs[key], expected[key].numpy(), rtol=1e-6, err_msg=key)
  assert outputs["min"][1].tolist() == [np.finfo(np.float32).max] * 3


def test_linear_if_wiring_gives_tf2onnx_s_graph(tmp_path):
  """An `If` whose branches hold a loop and read the outer inputs converts to the same ONNX
  ops, names and outputs with `linear_if_wiring` as with tf2onnx's own wiring."""
  tf2onnx = pytest.importorskip("tf2onnx")
  spec = [tf.TensorSpec([None], tf.float32, name="x"), tf.TensorSpec([], tf.float32, name="flag")]

  @tf.function(input_signature=spec)
  def branchy(x, flag):
    def doubled():
      total, _ = tf.while_loop(lambda value, i: i < 3, lambda value, i: (value * 2.0, i + 1),
                               (x, tf.constant(0)))
      return total + tf.reduce_sum(x), tf.shape(x)[0]
    return tf.cond(flag > 0.0, doubled, lambda: (x - 1.0, tf.constant(-1)))

  models = {}
  for linear in (False, True):
    with portable.linear_if_wiring() if linear else contextlib.nullcontext():
      models[linear], _ = tf2onnx.convert.from_function(
          branchy, input_signature=spec, opset=portable.ONNX_OPSET,
          output_path=str(tmp_path / f"branchy_{linear}.onnx"))

  def nodes(graph, names):
    """Every node's type, name, inputs and outputs, names numbered by first appearance
    (tf2onnx's generated names count on across conversions)."""
    def number(name):
      return names.setdefault(name, len(names))
    listed = []
    for node in graph.node:
      listed.append((node.op_type, number(node.name), tuple(map(number, node.input)),
                     tuple(map(number, node.output))))
      for attribute in node.attribute:
        if attribute.HasField("g"):
          listed += nodes(attribute.g, names)
    return listed

  assert nodes(models[True].graph, {}) == nodes(models[False].graph, {})
  x = np.array([1.0, 2.0, 3.0], np.float32)
  for flag in (1.0, 0.0):
    got = portable.Runner(str(tmp_path / "branchy_True.onnx"), num_threads=1)(
        x=x, flag=np.array(flag, np.float32))
    expected = [value.numpy() for value in branchy(x, flag)]
    np.testing.assert_allclose(list(got.values())[0], expected[0], err_msg=str(flag))
    np.testing.assert_array_equal(list(got.values())[1], expected[1], err_msg=str(flag))


def test_runner_and_command_refuse_bad_input(tmp_path):
  with pytest.raises(ValueError, match="expected a .tflite or .onnx file"):
    portable.Runner(str(tmp_path / "model.pb"))
  with pytest.raises(FileNotFoundError, match="no such model file"):
    portable.Runner(str(tmp_path / "missing.onnx"))
  with pytest.raises(ValueError, match="unknown formats"):
    portable.convert(str(tmp_path), ["coreml"])
  checkpoint = pretrained.checkpoint_path("pretrained")
  result = subprocess.run(
      [sys.executable, "-m", "handvol.export", f"--checkpoint={checkpoint}",
       f"--export_dir={tmp_path}", "--formats=litert,coreml"],
      capture_output=True, text=True, check=False, timeout=300)
  assert result.returncode != 0
  assert "--formats: unknown ['coreml']" in result.stderr
