"""Evaluation of a trained model on held-out training examples with known truth."""

import keras
import numpy as np

from handvol.evaluation import metrics
from handvol.evaluation import protocols

PROTOCOLS = (protocols.ALL21, protocols.LAB6, protocols.UNLAB15)
"""The 21-keypoint protocols the summary reports."""


def predict_keypoints(model, dataset):
  """Runs `model.predict_joints` over a dataset of training-example batches.

  Args:
    model: A `HandPoseModel`.
    dataset: A `tf.data.Dataset` of batched training examples.

  Returns:
    A dict of numpy arrays over all frames: "keypoints" `[F, 21, 3]` mm, "truth_xyz"
    `[F, 21, 3]` mm, "has_truth" `[F]`, "beta" `[F, 20]`.
  """
  batches = {"keypoints": [], "truth_xyz": [], "has_truth": [], "beta": []}
  progress = keras.utils.Progbar(None, unit_name="batch")
  for batch in dataset:
    outputs = model.predict_joints(batch["depth_input"], batch["crop_intrinsics"],
                                   batch["center_xyz"])
    batches["keypoints"].append(np.asarray(outputs["keypoints"]))
    batches["beta"].append(np.asarray(outputs["beta"]))
    batches["truth_xyz"].append(np.asarray(batch["truth_xyz"]))
    batches["has_truth"].append(np.asarray(batch["has_truth"]))
    progress.add(1)
  return {key: np.concatenate(values) for key, values in batches.items()}


def keypoint_errors(model, dataset):
  """Mean joint errors (mm) per protocol on the frames of `dataset` that carry a truth.

  Args:
    model: A `HandPoseModel`.
    dataset: A `tf.data.Dataset` of batched training examples.

  Returns:
    A dict: "<protocol>_mean_mm" for All-21, Lab-6 and Unlab-15, and "frames" (the count).
  """
  predictions = predict_keypoints(model, dataset)
  with_truth = predictions["has_truth"] > 0
  if not np.any(with_truth):
    raise ValueError("the evaluation dataset has no frame with a 21-keypoint truth")
  errors = metrics.joint_errors(predictions["keypoints"][with_truth],
                                predictions["truth_xyz"][with_truth])
  summary = {f"{protocol.name}_mean_mm": metrics.mean_error(errors, protocol.indices)
             for protocol in PROTOCOLS}
  summary["frames"] = int(np.sum(with_truth))
  return summary
