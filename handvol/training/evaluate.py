"""Evaluation of a model on held-out training examples with known truth, through
`handvol.evaluation` (SPEC §10's metrics on the 21-keypoint layout)."""

import keras
import numpy as np

from handvol.evaluation import evaluate as evaluation

LAYOUT = "hand21"
"""Our 21 keypoints: the protocols All-21, Lab-6 and Unlab-15."""

PROTOCOLS = ("all21", "lab6", "unlab15")
"""The protocols whose mean errors `summary.json` reports."""

COLLECTED = ("keypoints", "bone_lengths", "truth_xyz", "has_truth", "subject", "dataset",
             "crop_depth", "crop_intrinsics")


def predict(model, dataset):
  """Runs the model (inference mode, no loss) over a dataset of training-example batches.

  Args:
    model: A `HandPoseModel`.
    dataset: A `tf.data.Dataset` of batched training examples.

  Returns:
    A dict of numpy arrays over all frames: the model's "keypoints" `[F, 21, 3]` mm and
    "bone_lengths" `[F, 20]` mm, and the examples' "truth_xyz", "has_truth", "subject",
    "dataset", "crop_depth" and "crop_intrinsics".
  """
  batches = {key: [] for key in COLLECTED}
  progress = keras.utils.Progbar(None, unit_name="batch")
  for batch in dataset:
    outputs = model(batch, training=False)
    for key in COLLECTED:
      batches[key].append(np.asarray(outputs[key] if key in outputs else batch[key]))
    progress.add(1)
  return {key: np.concatenate(values) for key, values in batches.items()}


def evaluate_predictions(predictions):
  """Every 21-keypoint metric of `handvol.evaluation` on the frames that carry a truth.

  Args:
    predictions: The dict of `predict`.

  Returns:
    The dict of `handvol.evaluation.evaluate.evaluate_keypoints` ("all21_mean_mm",
    "lab6_mean_mm", "unlab15_mean_mm", frame fractions, per joint, per subject, MDPC on the
    crops, bone-length F1 when the frames hold two subjects, ...).
  """
  with_truth = predictions["has_truth"] > 0
  if not np.any(with_truth):
    raise ValueError("the evaluation dataset has no frame with a 21-keypoint truth")
  selected = {key: value[with_truth] for key, value in predictions.items()}
  return evaluation.evaluate_keypoints(
      selected["keypoints"], selected["truth_xyz"], LAYOUT, subjects=selected["subject"],
      datasets=selected["dataset"], depth=selected["crop_depth"],
      intrinsics=selected["crop_intrinsics"], bone_length_vectors=selected["bone_lengths"])


def evaluate_model(model, dataset):
  """`evaluate_predictions` of the model's `predict` over a dataset of batched examples."""
  return evaluate_predictions(predict(model, dataset))


def keypoint_errors(model, dataset):
  """The mean errors `summary.json` reports: "<protocol>_mean_mm" over `PROTOCOLS`, and
  "frames" (the frames with a truth)."""
  results = evaluate_model(model, dataset)
  summary = {f"{protocol}_mean_mm": results[f"{protocol}_mean_mm"] for protocol in PROTOCOLS}
  summary["frames"] = results["num_frames"]
  return summary
