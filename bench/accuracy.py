"""Accuracy of a trained run on two test sets: handvol's own generator and an independent renderer.

    python bench/accuracy.py --workdir WORKDIR [--checkpoint PATH] [--independent DIR]
        [--independent_frames 200] [--generator_frames 256] [--generator_views sphere]
        [--generator_subjects NAME]

The generator's test set is the run's own `data.test` with its views set to `--generator_views`
("sphere" by default: the palm's normal uniform on the sphere and any roll, so that every run is
measured on every orientation whatever it was trained on) and `--generator_frames` frames. A
run whose test split is not the generator's floating hands (a "scenes" run) is measured on the
default config's test split instead (subject "nyu_like", seed 2, as `cpu_long`'s);
`--generator_subjects` (e.g. "unseen_test") replaces its subjects.
The independent set is a capture folder written by `independent_hand` (a renderer with its own
geometry, kinematics and sensor, which handvol's code cannot import; `docs/independent_hand.md`):
`--independent DIR`, or one rendered into a temporary folder with `--independent_seed`.
Crops are centred on the labels' reference point in both (as the run's own test split).

For each set it prints All-21 / Lab-6 / Unlab-15 means (mm), All-21 per roll bin of the true
hand (|roll| 0–60°, 60–120°, 120–180°, `handvol.evaluation.metrics.image_roll_degrees`) and per
view (palm / side / back facing the camera), and the percentage of frames whose palm is
flipped (predicted palm normal more than 90° from the truth's), and All-21 once each frame's
global pose error is taken out (`metrics.aligned_errors`: the mean offset removed, then also
the best rotation: what the articulation and the shape leave), and the mean signed depth error
of the wrist, the finger bases and the tips (a systematic bias in front of or behind the
surface); the JSON adds All-21 per keypoint. The last line is one JSON object
with `all21_mm`, `all21_mm_independent`, `worst_roll_bin_ratio` (the worst bin's All-21 over the
best's, the larger of the two sets), the same per set, and the machine.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # pylint: disable=wrong-import-position

from handvol import configs  # pylint: disable=wrong-import-position
from handvol.data import capture  # pylint: disable=wrong-import-position
from handvol.data import records  # pylint: disable=wrong-import-position
from handvol.evaluation import metrics  # pylint: disable=wrong-import-position
from handvol.hand import skeleton  # pylint: disable=wrong-import-position
from handvol.model import hand_pose_model  # pylint: disable=wrong-import-position
from handvol.training import evaluate  # pylint: disable=wrong-import-position
from handvol.training import input_pipeline  # pylint: disable=wrong-import-position
import machine_info  # pylint: disable=wrong-import-position,import-error


def _parse_args():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True, help="A training work directory.")
  parser.add_argument("--checkpoint", help="A .keras checkpoint (default WORKDIR's best).")
  parser.add_argument("--independent", help="A capture folder of independent_hand.")
  parser.add_argument("--independent_frames", type=int, default=200)
  parser.add_argument("--independent_seed", type=int, default=20261202)
  parser.add_argument("--generator_frames", type=int, default=256)
  parser.add_argument("--generator_views", default="sphere", choices=("sphere", "frontal"))
  parser.add_argument("--generator_subjects",
                      help="A subject set of the generator's test frames (default the run's).")
  parser.add_argument("--out", help="Optional path of a JSON file with the result.")
  return parser.parse_args()


def run_data_config(workdir):
  path = pathlib.Path(workdir) / "config.json"
  if not path.is_file():
    raise SystemExit(f"{path}: not a training work directory (no config.json)")
  return json.loads(path.read_text(encoding="utf-8"))["data"]


def generator_test_entry(data_config, views, num_frames, subjects=None):
  """The source entry of the generator's test set (module docstring): the run's test split if
  it is the generator's floating hands, else the default config's, with `views`, `num_frames`
  and, when given, `subjects`."""
  entry = data_config["test"]
  if entry["source"] != "synthetic":
    entry = configs.load("default")["data"]["test"]
  entry = dict(entry, views=views, num_frames=num_frames)
  if subjects:
    entry["subjects"] = subjects
  return entry


def independent_records(folder):
  """The capture folder's frames with their 21 3D labels as the truth."""
  frames = []
  for record in capture.read_frames(folder):
    if not np.all(record["kind"] == records.KIND_3D):
      raise SystemExit(f"{folder}: a frame lacks some of the 21 3D labels; expected a folder "
                       "written by independent_hand")
    record = dict(record, truth_xyz=record["xyz"].astype(np.float32),
                  has_truth=np.float32(1.0))
    frames.append(record)
  return frames


def _render_independent(folder, num_frames, seed):
  command = [sys.executable, "-m", "independent_hand", f"--out={folder}",
             f"--frames={num_frames}", f"--seed={seed}", "--views=sphere"]
  print("rendering the independent set:", " ".join(command), flush=True)
  subprocess.run(command, check=True, cwd=ROOT)


def _breakdown(errors, groups, names):
  """Mean All-21 error per group name (None for an empty group) and the frame counts."""
  means = {name: (float(errors[groups == name].mean()) if np.any(groups == name) else None)
           for name in names}
  counts = {name: int(np.sum(groups == name)) for name in names}
  return means, counts


DEPTH_BIAS_GROUPS = {
    "wrist": (skeleton.ROOT,),
    "finger_bases": tuple(keypoints[0] for keypoints in skeleton.FINGER_KEYPOINTS[1:]),
    "tips": tuple(keypoints[-1] for keypoints in skeleton.FINGER_KEYPOINTS),
}
"""Keypoint groups whose mean signed depth error the report gives: the wrist, the four finger
MCPs, the five tips."""


def orientation_report(predicted, truth):
  """Means per protocol, per roll bin and per view, and palm flips, of `[F, 21, 3]` arrays."""
  errors = metrics.joint_errors(predicted, truth)
  frame_errors = errors.mean(axis=-1)
  bin_names = [f"{low:.0f}-{high:.0f}" for low, high in metrics.ROLL_BINS_DEG]
  bins = np.array(bin_names)[metrics.roll_bin_indices(metrics.image_roll_degrees(truth))]
  per_roll, roll_counts = _breakdown(frame_errors, bins, bin_names)
  per_view, view_counts = _breakdown(frame_errors, metrics.view_classes(truth),
                                     metrics.VIEW_CLASSES)
  filled = [value for value in per_roll.values() if value is not None]
  return {
      "all21_mm": metrics.mean_error(errors),
      "lab6_mm": metrics.mean_error(errors, skeleton.LAB6),
      "unlab15_mm": metrics.mean_error(errors, skeleton.UNLAB15),
      "roll_bins_mm": per_roll, "roll_bin_frames": roll_counts,
      "worst_roll_bin_ratio": max(filled) / min(filled) if min(filled) > 0 else None,
      "views_mm": per_view, "view_frames": view_counts,
      "palm_flipped_pct": metrics.palm_flipped_percent(predicted, truth),
      # What is left once each frame's global pose error is taken out.
      "all21_mm_translation_aligned": metrics.mean_error(
          metrics.aligned_errors(predicted, truth, "translation")),
      "all21_mm_rigid_aligned": metrics.mean_error(
          metrics.aligned_errors(predicted, truth, "rigid")),
      "per_keypoint_mm": dict(zip(skeleton.KEYPOINT_NAMES,
                                  np.mean(errors, axis=0).astype(float).tolist())),
      # Mean signed depth error (predicted − true z, mm; negative: in front of the truth).
      "depth_bias_mm": {
          name: float(np.mean(predicted[:, list(group), 2] - truth[:, list(group), 2]))
          for name, group in DEPTH_BIAS_GROUPS.items()},
      "frames": int(len(truth)),
  }


def predict_source(model, data_config, source):
  """(predicted, true) keypoints `[F, 21, 3]` mm of the frames of a source (a config entry or
  records) that have a truth."""
  predictions = evaluate.predict(model, input_pipeline.evaluation_split(data_config, source))
  keep = predictions["has_truth"] > 0
  return predictions["keypoints"][keep], predictions["truth_xyz"][keep]


def evaluate_source(model, data_config, source):
  """`orientation_report` of the model's predictions on a source (a config entry or records)."""
  return orientation_report(*predict_source(model, data_config, source))


def _print(name, report):
  print(f"\n{name} ({report['frames']} frames): All-21 {report['all21_mm']:.2f}  "
        f"Lab-6 {report['lab6_mm']:.2f}  Unlab-15 {report['unlab15_mm']:.2f} mm;  "
        f"palm flipped {report['palm_flipped_pct']:.1f} %")
  print(f"  All-21 with each frame's mean offset removed {report['all21_mm_translation_aligned']:.2f}"
        f", rigidly aligned {report['all21_mm_rigid_aligned']:.2f} mm")
  print("  depth bias (predicted - true z): " + ",  ".join(
      f"{name.replace('_', ' ')} {value:+.1f}" for name, value in report["depth_bias_mm"].items())
        + " mm")
  for key, counts in (("roll_bins_mm", "roll_bin_frames"), ("views_mm", "view_frames")):
    cells = [f"{bin_name}: {'-' if value is None else f'{value:.2f}'} ({report[counts][bin_name]})"
             for bin_name, value in report[key].items()]
    print(f"  {key[:-3].replace('_', ' ')}: " + ",  ".join(cells))


def main():
  args = _parse_args()
  data_config = run_data_config(args.workdir)
  checkpoint = args.checkpoint or str(pathlib.Path(args.workdir) / evaluate.CHECKPOINT)
  model = hand_pose_model.load_checkpoint(checkpoint)
  test_entry = generator_test_entry(data_config, args.generator_views, args.generator_frames,
                                    args.generator_subjects)
  generator_report = evaluate_source(model, data_config, test_entry)
  with tempfile.TemporaryDirectory() as scratch:
    folder = args.independent
    if folder is None:
      folder = os.path.join(scratch, "independent")
      _render_independent(folder, args.independent_frames, args.independent_seed)
    independent_report = evaluate_source(
        model, data_config, input_pipeline.from_records(independent_records(folder)))
  _print(f"generator test set (views {args.generator_views})", generator_report)
  _print("independent renderer", independent_report)
  result = {
      "checkpoint": checkpoint,
      "generator_test": test_entry,
      "all21_mm": generator_report["all21_mm"],
      "all21_mm_independent": independent_report["all21_mm"],
      "independent_ratio": independent_report["all21_mm"] / generator_report["all21_mm"],
      "worst_roll_bin_ratio": max(generator_report["worst_roll_bin_ratio"] or 0.0,
                                  independent_report["worst_roll_bin_ratio"] or 0.0),
      "palm_flipped_pct": generator_report["palm_flipped_pct"],
      "palm_flipped_pct_independent": independent_report["palm_flipped_pct"],
      "generator": generator_report,
      "independent": independent_report,
      "machine": machine_info.describe(),
  }
  if args.out:
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
  print(json.dumps(result))


if __name__ == "__main__":
  main()
