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
from handvol.data import atomic
from handvol.data import nyu
from handvol.data import records
from handvol.evaluation import evaluate as evaluation
from handvol.evaluation import plots
from handvol.evaluation import protocols
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


def nyu14_result(entry, predictions, skip_log):
  """NYU-14 and Match-11 of a prediction on an NYU split, against NYU's own 14 joints.

  Args:
    entry: The split's source entry ({"source": "nyu", "args": {...}}).
    predictions: The dict of `predict` on it, frames in reading order.
    skip_log: The split's `records.SkipLog` (its skipped frames are left out of the truth).

  Returns:
    The `evaluate_keypoints` result on the "nyu14" layout, or None for a split of another
    dataset.
  """
  if entry.get("source") != "nyu":
    return None
  args = entry["args"]
  split, camera = args.get("split"), args.get("camera", 1)
  joints = nyu.read_joints(args["root"], split, camera)["xyz"]
  skipped = set(skip_log.frames)
  frames = [f for f in (args.get("frames") or range(len(joints))) if f not in skipped]
  truth = joints[frames][:, list(nyu.EVAL14)]
  return evaluation.evaluate_keypoints(
      protocols.hand21_to_nyu14(predictions["keypoints"]), truth, "nyu14",
      subjects=predictions["subject"])


def _report_failed(out_dir, skip_log):
  """Prints the frames that could not be read and lists them in `failed_frames.txt`."""
  if not skip_log.count:
    return
  for entry in skip_log.entries:
    print(f"failed: {entry}", flush=True)
  atomic.write_text(str(out_dir / "failed_frames.txt"), "\n".join(skip_log.entries) + "\n")
  print(f"{skip_log.count} of {skip_log.seen} frames failed and are not in the metrics",
        flush=True)


def _summary_line(result, nyu14):
  means = {title: result[f"{key}_mean_mm"] for key, title in
           (("all21", "All-21"), ("lab6", "Lab-6"), ("unlab15", "Unlab-15"))}
  if nyu14 is not None:
    means.update({"NYU-14": nyu14["nyu14_mean_mm"], "Match-11": nyu14["match11_mean_mm"]})
  return ", ".join(f"{title} {value:.2f} mm" for title, value in means.items())


def evaluate_run(workdir, out_dir, checkpoint=None, split="test", settings=(), name="handvol",
                 num_figure_frames=4):
  """Evaluates a run's checkpoint on a split of its data with every 21-keypoint protocol (and,
  on NYU, NYU-14 and Match-11 against NYU's own joints, in `out_dir/nyu14/`).

  Frames that cannot be read are reported one by one (printed, `failed_frames.txt`, and
  "failed_frames" in the result) and left out; every other frame is scored, including those
  whose keypoints project outside the image.

  Args:
    workdir: The training work directory (holding `config.json`).
    out_dir: Where `metrics.json`, `metrics.md`, the curves, the per-joint bars and
      `qualitative.png` (camera and side views of a few frames: truth and prediction over the
      crop's point cloud) are written, each file atomically.
    checkpoint: A `.keras` checkpoint; `workdir/checkpoints/best.keras` when None.
    split: The config's data split: "test" or "validation".
    settings: `key.sub=value` overrides of the run's config (as `train.py --set`).
    name: The method's name in the report.
    num_figure_frames: Frames drawn in `qualitative.png`, evenly spaced over the split.

  Returns:
    The `handvol.evaluation.evaluate.evaluate_keypoints` result (also in `metrics.json`), with
    "failed_frames" (messages) and, on NYU, "nyu14_mean_mm" and "match11_mean_mm".
  """
  config = _run_config(workdir, settings)
  if split not in ("test", "validation"):
    raise ValueError(f"split must be 'test' or 'validation', got {split!r}")
  model = hand_pose_model.load_checkpoint(str(checkpoint or pathlib.Path(workdir) / CHECKPOINT))
  skip_log = records.SkipLog(allow_off_image=True)
  predictions = predict(model, input_pipeline.evaluation_split(config["data"], split,
                                                               skip_log=skip_log))
  result = evaluate_predictions(predictions)
  nyu14 = nyu14_result(config["data"][split], predictions, skip_log)
  out_dir = pathlib.Path(out_dir)
  title = f"{split} frames of {pathlib.Path(workdir).name}"
  with atomic.atomic_folder_files(str(out_dir)) as folder:
    evaluation.write_report(folder, {name: result}, LAYOUT, title)
    if nyu14 is not None:
      evaluation.write_report(pathlib.Path(folder) / "nyu14", {name: nyu14}, "nyu14", title)
    _plot_figure(pathlib.Path(folder) / "qualitative.png", predictions, name, num_figure_frames)
  _report_failed(out_dir, skip_log)
  result["failed_frames"] = list(skip_log.entries)
  if nyu14 is not None:
    result.update(nyu14_mean_mm=nyu14["nyu14_mean_mm"], match11_mean_mm=nyu14["match11_mean_mm"])
  print(f"{name} on the {title}: {_summary_line(result, nyu14)}", flush=True)
  return result


def _run_config(workdir, settings):
  """The run's `config.json` with `settings` applied, checked against the schema."""
  config_path = pathlib.Path(workdir) / "config.json"
  if not config_path.is_file():
    raise FileNotFoundError(f"{config_path}: not a training work directory (no config.json)")
  try:
    config = json.loads(config_path.read_text(encoding="utf-8"))
  except ValueError as error:
    raise configs.ConfigError(f"{config_path}: not valid JSON ({error})") from None
  return configs.validate(configs.override(config, settings), allow_missing=True)


def _plot_figure(path, predictions, name, num_frames):
  with_truth = np.flatnonzero(predictions["has_truth"] > 0)
  frames = with_truth[np.linspace(0, len(with_truth) - 1, num_frames).astype(int)]
  plots.plot_qualitative(path, predictions["crop_depth"][frames],
                         predictions["crop_intrinsics"][frames],
                         predictions["truth_xyz"][frames],
                         {name: predictions["keypoints"][frames]},
                         parents=skeleton.KEYPOINT_PARENTS, label_name="truth")
