"""Tests of the full model: the loss terms together, degenerate batches, fit, predict, save."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol import ops
from handvol.data import records
from handvol.hand import skeleton
from handvol.model import hand_pose_model

BATCH = 2
NUM_IMAGE_GAUSSIANS = 16
INTRINSICS = (200.0, 200.0, 63.5, 63.5)


def _examples(batch=BATCH, seed=0):
  """Training examples built by hand: a blob of image Gaussians at 500 mm and 3D Lab-6 labels."""
  rng = np.random.default_rng(seed)
  grid = np.stack(np.meshgrid(np.arange(4), np.arange(4)), -1).reshape(-1, 2) * 8.0 + 50.0
  image = np.concatenate([grid, np.full([NUM_IMAGE_GAUSSIANS, 1], 4.0),
                          np.full([NUM_IMAGE_GAUSSIANS, 1], 500.0)], axis=-1)
  image = np.tile(image[np.newaxis], [batch, 1, 1]).astype(np.float32)
  mask = np.ones([batch, NUM_IMAGE_GAUSSIANS], np.float32)
  truth = (rng.normal(0.0, 30.0, [batch, skeleton.NUM_KEYPOINTS, 3]) + [0.0, 0.0, 500.0])
  kind = np.zeros([batch, skeleton.NUM_KEYPOINTS], np.int32)
  kind[:, list(skeleton.LAB6)] = records.KIND_3D
  intrinsics = np.tile(np.float32(INTRINSICS), [batch, 1])
  return {
      "depth_input": rng.uniform(-1.0, 1.0, [batch, 128, 128, 1]).astype(np.float32),
      "crop_intrinsics": intrinsics,
      "center_xyz": np.tile(np.float32([0.0, 0.0, 500.0]), [batch, 1]),
      "image_gaussians": image,
      "image_mask": mask,
      "image_self_overlap": ops.image_self_overlap(image, mask).numpy(),
      "uv": np.zeros([batch, skeleton.NUM_KEYPOINTS, 2], np.float32),
      "xyz": truth.astype(np.float32),
      "kind": kind,
      "visible": np.ones([batch, skeleton.NUM_KEYPOINTS], np.float32),
      "truth_xyz": truth.astype(np.float32),
      "has_truth": np.ones([batch], np.float32),
  }


def _small_model(**kwargs):
  return hand_pose_model.HandPoseModel(encoder_width=4, **kwargs)


def _loss_and_gradients(model, example):
  with tf.GradientTape() as tape:
    outputs = model(example, training=True)
    total = model.compute_loss(example, None, outputs)
  return total, tape.gradient(total, model.trainable_variables), outputs


def test_every_term_is_finite_and_weighted():
  model = _small_model()
  example = _examples()
  outputs = model(example)
  energies = model.loss_terms(example, outputs)
  assert set(energies) == set(hand_pose_model.LOSS_TERMS)
  for term, energy in energies.items():
    assert energy.shape == (BATCH,), term
    assert np.all(np.isfinite(energy)), term
  expected = sum(model.loss_weights[t] * np.mean(e) for t, e in energies.items())
  np.testing.assert_allclose(model.compute_loss(example, None, outputs), expected, rtol=1e-5)


def _empty_crop(example):
  example["image_mask"][:] = 0.0
  example["image_self_overlap"][:] = 0.0


def _behind_camera(example):
  example["center_xyz"][:, 2] = -400.0  # the whole hand behind the camera


def _invisible(example):
  example["visible"][:] = 0.0


@pytest.mark.parametrize("degrade", [_empty_crop, _behind_camera, _invisible])
def test_degenerate_batches_give_finite_loss_and_gradients(degrade):
  model = _small_model()
  example = _examples()
  degrade(example)
  total, gradients, _ = _loss_and_gradients(model, example)
  assert np.isfinite(total)
  for variable, gradient in zip(model.trainable_variables, gradients):
    assert gradient is not None, variable.path
    assert np.all(np.isfinite(gradient)), variable.path


def test_switched_off_terms_are_not_built():
  model = _small_model(loss_weights={"dissim": 0.0, "collision": 0.0})
  assert model.enabled_terms == ("bone", "lim", "joint")
  example = _examples()
  assert set(model.loss_terms(example, model(example))) == {"bone", "lim", "joint"}
  with pytest.raises(ValueError, match="unknown terms"):
    _small_model(loss_weights={"dissimilarity": 1.0})


def test_lab6_supervision_ignores_other_labels():
  example = _examples()
  example["kind"][:] = records.KIND_3D
  lab6 = _small_model(supervised_keypoints=skeleton.LAB6)
  all_labels = _small_model()
  outputs = lab6(example)
  moved = {key: np.array(value) for key, value in example.items()}
  others = [k for k in range(skeleton.NUM_KEYPOINTS) if k not in skeleton.LAB6]
  moved["xyz"][:, others] += 100.0  # Labels off Lab-6 moved: Lab-6 supervision must not see it.
  np.testing.assert_allclose(lab6.loss_terms(moved, outputs)["joint"],
                             lab6.loss_terms(example, outputs)["joint"], rtol=1e-6)
  assert np.all(all_labels.loss_terms(moved, outputs)["joint"]
                > all_labels.loss_terms(example, outputs)["joint"])
  moved["xyz"][:, skeleton.LAB6[1]] += 100.0  # A Lab-6 label moved: it must.
  assert np.all(lab6.loss_terms(moved, outputs)["joint"]
                > lab6.loss_terms(example, outputs)["joint"])


def test_fit_logs_every_term_and_predicts(tmp_path):
  model = _small_model()
  model.compile(optimizer="adam")
  dataset = tf.data.Dataset.from_tensor_slices(_examples(4)).batch(2)
  history = model.fit(dataset, epochs=1, verbose=0)
  for term in hand_pose_model.LOSS_TERMS:
    assert np.isfinite(history.history[f"{term}_loss"][0]), term
  assert np.isfinite(history.history["all21_mm"][0])
  example = _examples()
  joints = model.predict_joints(example["depth_input"], example["crop_intrinsics"],
                                example["center_xyz"])
  assert joints["keypoints"].shape == (BATCH, skeleton.NUM_KEYPOINTS, 3)
  assert joints["keypoints_uv"].shape == (BATCH, skeleton.NUM_KEYPOINTS, 2)
  assert joints["theta"].shape == (BATCH, skeleton.NUM_THETA)
  assert joints["beta"].shape == (BATCH, skeleton.NUM_BETA)

  path = str(tmp_path / "model.keras")
  model.save(path)
  restored = keras.saving.load_model(path)
  assert restored.get_config() == model.get_config()
  again = restored.predict_joints(example["depth_input"], example["crop_intrinsics"],
                                  example["center_xyz"])
  np.testing.assert_allclose(again["keypoints"], joints["keypoints"], rtol=1e-5, atol=1e-4)
