"""Evaluation of a model on held-out training examples with known truth, through
`handvol.evaluation` (SPEC §10's metrics on the 21-keypoint layout), and of a training run's
checkpoint on one of its dataset splits (`evaluate_run`, `eval.py --workdir`).

The run's `config.json` names the data (`handvol/configs/`); `settings` change it the way
`train.py --set` does, e.g. `data.test.subjects=unseen_test` to evaluate on other synthetic
subjects, or `data.test.args.root=/data/nyu` for a real dataset folder.
"""

import json
import pathlib

import keras
import numpy as np

from handvol import configs
from handvol.evaluation import evaluate as evaluation
from handvol.evaluation import plots
from handvol.hand import skeleton
from handvol.model import hand_pose_model
from handvol.training import input_pipeline

LAYOUT = "hand21"
"""Our 21 keypoints: the protocols All-21, Lab-6 and Unlab-15."""

PROTOCOLS = ("all21", "lab6", "unlab15")
"""The protocols whose mean errors `summary.json` reports."""

CHECKPOINT = pathlib.Path("checkpoints") / "best.keras"
"""The checkpoint of a work directory that is evaluated unless another is named."""

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


def evaluate_run(workdir, out_dir, checkpoint=None, split="test", settings=(), name="handvol",
                 num_figure_frames=4):
  """Evaluates a run's checkpoint on a split of its data with every 21-keypoint protocol.

  Args:
    workdir: The training work directory (holding `config.json`).
    out_dir: Where `metrics.json`, `metrics.md`, the curves, the per-joint bars and
      `qualitative.png` (camera and side views of a few frames: truth and prediction over the
      crop's point cloud) are written.
    checkpoint: A `.keras` checkpoint; `workdir/checkpoints/best.keras` when None.
    split: The config's data split: "test" or "validation".
    settings: `key.sub=value` overrides of the run's config (as `train.py --set`).
    name: The method's name in the report.
    num_figure_frames: Frames drawn in `qualitative.png`, evenly spaced over the split.

  Returns:
    The `handvol.evaluation.evaluate.evaluate_keypoints` result (also in `metrics.json`).
  """
  workdir = pathlib.Path(workdir)
  config_path = workdir / "config.json"
  if not config_path.is_file():
    raise FileNotFoundError(f"{config_path}: not a training work directory (no config.json)")
  config = configs.override(json.loads(config_path.read_text(encoding="utf-8")), settings)
  if split not in ("test", "validation"):
    raise ValueError(f"split must be 'test' or 'validation', got {split!r}")
  model = hand_pose_model.load_checkpoint(str(checkpoint or workdir / CHECKPOINT))
  predictions = predict(model, input_pipeline.evaluation_split(config["data"], split))
  result = evaluate_predictions(predictions)
  out_dir = pathlib.Path(out_dir)
  evaluation.write_report(out_dir, {name: result}, LAYOUT, f"{split} frames of {workdir.name}")
  with_truth = np.flatnonzero(predictions["has_truth"] > 0)
  frames = with_truth[np.linspace(0, len(with_truth) - 1, num_figure_frames).astype(int)]
  plots.plot_qualitative(out_dir / "qualitative.png", predictions["crop_depth"][frames],
                         predictions["crop_intrinsics"][frames],
                         predictions["truth_xyz"][frames],
                         {name: predictions["keypoints"][frames]},
                         parents=skeleton.KEYPOINT_PARENTS, label_name="truth")
  return result
