"""Evaluation of a trained model: a training run's checkpoint on one of its dataset splits.

The run's `config.json` names the data (`handvol/configs/`); `settings` change it the way
`train.py --set` does, e.g. `data.test.subjects=unseen_test` to evaluate on other synthetic
subjects, or `data.test.args.root=/data/nyu` for a real dataset folder.
"""

import json
import pathlib

import numpy as np

from handvol import configs
from handvol.data import pipeline
from handvol.evaluation import evaluate
from handvol.evaluation import plots
from handvol.export import export
from handvol.hand import skeleton
from handvol.training import data as training_data
from handvol.training import evaluate as training_evaluate

CHECKPOINT = pathlib.Path("checkpoints") / "best.keras"
"""The checkpoint of a work directory that is evaluated unless another is named."""


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
  model = export.load_checkpoint(str(checkpoint or workdir / CHECKPOINT))

  data_config = config["data"]
  dataset = pipeline.evaluation_dataset(
      training_data.frame_source(data_config[split]),
      training_data.pipeline_config(data_config, data_config["batch_size"], config["seed"]))
  predictions = training_evaluate.predict(model, dataset)
  result = training_evaluate.evaluate_predictions(predictions)

  out_dir = pathlib.Path(out_dir)
  evaluate.write_report(out_dir, {name: result}, training_evaluate.LAYOUT,
                        f"{split} frames of {workdir.name}")
  with_truth = np.flatnonzero(predictions["has_truth"] > 0)
  frames = with_truth[np.linspace(0, len(with_truth) - 1, num_figure_frames).astype(int)]
  plots.plot_qualitative(out_dir / "qualitative.png", predictions["crop_depth"][frames],
                         predictions["crop_intrinsics"][frames],
                         predictions["truth_xyz"][frames],
                         {name: predictions["keypoints"][frames]},
                         parents=skeleton.KEYPOINT_PARENTS, label_name="truth")
  return result
