"""The exported signatures against the Keras model, and their behaviour on bad input."""

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from handvol import pretrained
from handvol.data import records
from handvol.export import export
from handvol.export import serving
from handvol.image import preprocess
from handvol.model import centre_refiner

from .conftest import INTRINSICS, hand_frame

TOLERANCE_MM = 1e-4
REFERENCE_UVD = np.array([75.0, 58.0, 500.0], np.float32)


def _frame_inputs(depths, references=None):
  batch = len(depths)
  reference_uvd = np.zeros([batch, 3], np.float32)
  has_reference = np.zeros([batch], np.float32)
  for row, reference in enumerate(references or [None] * batch):
    if reference is not None:
      reference_uvd[row], has_reference[row] = reference, 1.0
  return {"depth": tf.constant(np.stack(depths)), "depth_unit_mm": tf.ones([batch]),
          "intrinsics": tf.constant(np.tile(INTRINSICS, (batch, 1))),
          "reference_uvd": tf.constant(reference_uvd),
          "has_reference": tf.constant(has_reference)}


def _located(depth):
  """The serving graph's way to the reference point: the localiser and the shipped refiner."""
  return centre_refiner.locate_hands(pretrained.load_centre_refiner(), depth[np.newaxis],
                                     INTRINSICS[np.newaxis])


def _localised(depth):
  """The localiser's refined reference point (u, v, d) of one frame in mm, on the grid that
  serving rounds it to."""
  found = _located(depth)
  assert found["valid"][0] == 1
  return preprocess.on_center_grid(found["center_uvd"]).numpy()[0]


def _keras_prediction(model, depths, references):
  """The training preprocessing of each frame (centred on the localiser's point where
  `references` has None), then `model.predict` on their batch (oneDNN's convolutions round
  differently for other batch sizes)."""
  examples = [preprocess.preprocess(records.make_record(
      depth, INTRINSICS, "capture",
      center_uvd=_localised(depth) if reference is None else reference))
              for depth, reference in zip(depths, references)]
  examples = {key: np.stack([example[key] for example in examples])
              for key in ("depth_input", "center_xyz", "crop_intrinsics")}
  outputs = model.predict({"depth_input": examples["depth_input"],
                           "center_xyz": examples["center_xyz"]}, verbose=0)
  return examples, outputs


@pytest.fixture(scope="module")
def loaded(trained_like):
  return tf.saved_model.load(trained_like[1])


def test_frames_match_the_keras_model(trained_like, loaded):
  model, _ = trained_like
  depths = [hand_frame(), hand_frame(center_xyz=(10.0, -20.0, 560.0), variant=1)]
  references = [None, REFERENCE_UVD]
  outputs = loaded.signatures[export.SIGNATURE_FRAME](**_frame_inputs(depths, references))
  examples, expected = _keras_prediction(model, depths, references)
  assert outputs["valid"].numpy().tolist() == [1, 1]
  np.testing.assert_allclose(outputs["joints_xyz"], expected["keypoints"], atol=TOLERANCE_MM)
  np.testing.assert_allclose(outputs["theta"][:, :3], expected["theta"][:, :3],
                             atol=TOLERANCE_MM)
  np.testing.assert_allclose(outputs["theta"][:, 3:], expected["theta"][:, 3:], atol=1e-5)
  np.testing.assert_allclose(outputs["bone_lengths"], expected["bone_lengths"],
                             atol=TOLERANCE_MM)
  np.testing.assert_allclose(outputs["reference_xyz"], examples["center_xyz"],
                             atol=TOLERANCE_MM)
  # The random head makes the two frames' hands differ, so the comparison has teeth.
  assert np.abs(outputs["theta"][0, 3:] - outputs["theta"][1, 3:]).max() > 1e-2


def test_reference_point_and_its_source(loaded):
  outputs = loaded.signatures[export.SIGNATURE_FRAME](
      **_frame_inputs([hand_frame(), hand_frame()], [None, REFERENCE_UVD]))
  assert outputs["reference_source"].numpy().tolist() == [serving.SOURCE_LOCALIZER,
                                                          serving.SOURCE_GIVEN]
  assert serving.REFERENCE_SOURCES[serving.SOURCE_LOCALIZER] == "localizer"
  np.testing.assert_allclose(outputs["reference_uvd"][1], REFERENCE_UVD, atol=1e-3)
  found = _located(hand_frame())
  localised = outputs["reference_uvd"][0].numpy()
  np.testing.assert_allclose(localised, preprocess.on_center_grid(found["center_uvd"])[0],
                             atol=1e-3)
  # Rounded to the grid: within half a cell of the refiner's point, on a line of the grid.
  grid = np.array(preprocess.CENTER_GRID)
  assert np.all(np.abs(localised - found["center_uvd"][0].numpy()) <= grid / 2 + 1e-3)
  np.testing.assert_allclose(localised / grid, np.round(localised / grid), atol=1e-3)
  # The localiser's point is not the depth-only centre (it moves into the hand).
  depth_only = preprocess.center_from_depth(hand_frame(), INTRINSICS)
  assert abs(float(outputs["reference_uvd"][0, 2]) - float(depth_only[2])) > 5.0
  np.testing.assert_allclose(outputs["confidence"], [found["confidence"][0], 1.0], atol=1e-6)
  assert 0.0 < outputs["confidence"][0] < 1.0
  assert outputs["reason"].numpy().tolist() == [0, 0]
  # joints_uvd are the joints projected with the frame's camera.
  fx, fy, cx, cy = INTRINSICS
  xyz = outputs["joints_xyz"].numpy()
  np.testing.assert_allclose(outputs["joints_uvd"][..., 0], fx * xyz[..., 0] / xyz[..., 2] + cx,
                             atol=1e-3)
  np.testing.assert_allclose(outputs["joints_uvd"][..., 1], fy * xyz[..., 1] / xyz[..., 2] + cy,
                             atol=1e-3)


def test_uint16_signature_equals_float_with_its_unit(loaded):
  counts = np.round(hand_frame() * 8.0).astype(np.uint16)  # 1/8 mm, like a RealSense.
  inputs = _frame_inputs([counts.astype(np.float32) / 8.0])
  expected = loaded.signatures[export.SIGNATURE_FRAME](**inputs)
  inputs.update(depth=tf.constant(counts[np.newaxis]), depth_unit_mm=tf.constant([0.125]))
  actual = loaded.signatures[export.SIGNATURE_FRAME_UINT16](**inputs)
  for key in serving.OUTPUT_KEYS:
    np.testing.assert_allclose(actual[key], expected[key], atol=1e-4, err_msg=key)


def test_crop_signature_matches_the_keras_model(trained_like, loaded):
  model, _ = trained_like
  examples, expected = _keras_prediction(model, [hand_frame()], [REFERENCE_UVD])
  outputs = loaded.signatures[export.SIGNATURE_CROP](
      depth_input=examples["depth_input"], crop_intrinsics=examples["crop_intrinsics"],
      center_xyz=examples["center_xyz"])
  assert outputs["valid"][0] == 1 and outputs["reference_source"][0] == serving.SOURCE_GIVEN
  np.testing.assert_allclose(outputs["joints_xyz"], expected["keypoints"], atol=TOLERANCE_MM)
  fx, fy, cx, cy = examples["crop_intrinsics"][0]
  xyz = expected["keypoints"][0]
  np.testing.assert_allclose(outputs["joints_uvd"][0, :, 0], fx * xyz[:, 0] / xyz[:, 2] + cx,
                             atol=1e-3)
  np.testing.assert_allclose(outputs["joints_uvd"][0, :, 1], fy * xyz[:, 1] / xyz[:, 2] + cy,
                             atol=1e-3)


def test_frames_batched_equal_one_at_a_time():
  depths = [hand_frame(), hand_frame(center_xyz=(10.0, -20.0, 560.0), variant=1),
            np.zeros_like(hand_frame())]
  batched = serving.preprocess_frames(**_frame_inputs(depths))
  for index, depth in enumerate(depths):
    single = serving.preprocess_frames(**_frame_inputs([depth]))
    for key, value in single.items():
      # The refiner's convolutions round differently per batch size (oneDNN): µm, not more.
      np.testing.assert_allclose(batched[key][index], value[0], atol=1e-3, err_msg=key)


def test_nan_inf_and_negative_depths_are_no_measurement(loaded):
  clean = hand_frame()
  dirty = clean.copy()
  wall = np.flatnonzero(clean == clean.max())
  rng = np.random.default_rng(0)
  for value in (np.nan, np.inf, -np.inf, -300.0):
    dirty.flat[rng.choice(wall, 300, replace=False)] = value
  outputs = loaded.signatures[export.SIGNATURE_FRAME](**_frame_inputs([dirty, clean]))
  assert outputs["valid"].numpy().tolist() == [1, 1]
  for key in serving.OUTPUT_KEYS:
    np.testing.assert_allclose(outputs[key][0], outputs[key][1], atol=1e-4, err_msg=key)


@pytest.mark.parametrize("bad, reason", [
    ("zeros", "no_hand_found"), ("garbage", "no_hand_found"), ("too_far", "too_few_pixels"),
    ("no_camera", "invalid_intrinsics"), ("no_unit", "no_hand_found")])
def test_unusable_frames_are_flagged_and_zero(loaded, bad, reason):
  depth = hand_frame()
  intrinsics = np.tile(INTRINSICS, (2, 1))
  if bad == "zeros":
    depth = np.zeros_like(depth)
  elif bad == "garbage":
    depth = np.where(np.arange(depth.size).reshape(depth.shape) % 3 == 0, np.nan,
                     np.where(depth > 500, np.inf, -depth)).astype(np.float32)
  elif bad == "no_camera":
    intrinsics[0] = 0.0
  inputs = _frame_inputs([depth, hand_frame()],
                         [np.array([80.0, 60.0, 3000.0]) if bad == "too_far" else None, None])
  inputs["intrinsics"] = tf.constant(intrinsics)
  if bad == "no_unit":
    inputs["depth_unit_mm"] = tf.constant([-1.0, 1.0])
  outputs = loaded.signatures[export.SIGNATURE_FRAME](**inputs)
  # Same batch size: oneDNN's convolutions round differently for other batch sizes.
  good = loaded.signatures[export.SIGNATURE_FRAME](**_frame_inputs([hand_frame()] * 2))
  assert outputs["valid"].numpy().tolist() == [0, 1]
  assert outputs["reason"].numpy().tolist() == [serving.REASONS.index(reason), 0]
  for key in serving.OUTPUT_KEYS:
    value = outputs[key].numpy()
    assert np.all(np.isfinite(value)), key
    if value.dtype == np.float32:
      assert np.all(value[0] == 0), key
    # The other frame of the batch is unaffected.
    np.testing.assert_allclose(value[1], good[key][1], atol=1e-4, err_msg=key)


def test_empty_crop_is_flagged(loaded):
  example = {"depth_input": tf.ones([1, 128, 128, 1]), "crop_intrinsics": tf.constant(
      [[200.0, 200.0, 63.5, 63.5]]), "center_xyz": tf.constant([[0.0, 0.0, 400.0]])}
  outputs = loaded.signatures[export.SIGNATURE_CROP](**example)
  assert outputs["valid"][0] == 0
  assert outputs["reason"][0] == serving.REASONS.index("too_few_pixels")
  assert outputs["confidence"][0] == 0
  assert np.all(outputs["joints_xyz"].numpy() == 0)


@pytest.mark.parametrize("change, message", [
    ({"depth": tf.zeros([120, 160])}, "tensor depth [120,160] is not compatible"),
    ({"depth": tf.zeros([1, 1, 120, 160])}, "tensor depth [1,1,120,160] is not compatible"),
    ({"depth": tf.zeros([1, 120, 160], tf.float64)}, "expected to be a float tensor"),
    ({"depth": tf.zeros([1, 120, 160], tf.int32)}, "expected to be a float tensor"),
    ({"intrinsics": tf.zeros([1, 3])}, "tensor intrinsics [1,3] is not compatible"),
    ({"intrinsics": tf.zeros([2, 4])}, "batch sizes differ"),
    ({"depth": tf.zeros([1, 2, 160])}, "at least 4×4 pixels"),
])
def test_wrong_inputs_give_clear_errors(loaded, change, message):
  inputs = _frame_inputs([hand_frame()])
  inputs.update(change)
  # A loaded signature first tries its structured inputs (TypeError), then calls the graph
  # with the flat tensors, as a server does; the graph's own checks then raise.
  with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(message)):
    loaded.signatures[export.SIGNATURE_FRAME](**inputs)


def test_export_layout_and_metadata(trained_like, tmp_path):
  model, path = trained_like
  assert os.path.basename(path) == "1"
  assert os.path.isfile(os.path.join(path, "saved_model.pb"))
  with open(os.path.join(path, export.METADATA_PATH), encoding="utf-8") as f:
    meta = json.load(f)
  assert meta["outputs"] == list(serving.OUTPUT_KEYS)
  assert meta["reasons"] == list(serving.REASONS)
  assert meta["reference_sources"][serving.SOURCE_LOCALIZER] == "localizer"
  assert meta["cube_mm"] == preprocess.CUBE_MM
  with pytest.raises(FileExistsError):
    export.export_model(model, os.path.dirname(os.path.dirname(path)), "handvol", 1)
  with pytest.raises(ValueError, match="version"):
    export.export_model(model, str(tmp_path), "handvol", 0)
