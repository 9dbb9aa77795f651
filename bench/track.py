"""Tracking on synthetic sequences of held-out subjects: speed, shape calibration, filtering.

    python bench/track.py --checkpoint WORKDIR/checkpoints/best.keras [--per_subject 2]
        [--frames 150] [--seed 1000] [--figure docs/figures/track_trajectories.png]
        [--reference follow|localize|depth_only] [--tune] [--tune_calibration] [--out FILE]

Writes `2 × per_subject` sequences of `--frames` frames (capture format, 30 fps, the
"unseen_test" subjects 8 and 9 in turn, `handvol.data.synthetic.sequences`) into a temporary
folder, then:

1. **Speed**: `handvol.track` end to end at batch 1 (read the PNG, localise, predict, filter),
   frames per second over all sequences after `WARM_UP_FRAMES` warm-up frames (tracing, a
   one-off start-up cost, printed on its own); the calibration (once per sequence) is timed on
   its own.
2. **Calibration**: per sequence, one shape from its first `track.calibration.frames` valid
   frames by "robust_mean" and by "fit"; per method the bone-length error (mean over the
   sequences of |calibrated − true| per bone, mm: the mean, the worst bone and its name; each
   bone's, and its signed mean, in the JSON), All-21 with the
   shape against per frame, and the bone-length k-means F1 per subject over all frames
   (`metrics.kmeans_f1`: per frame, the network's own bone lengths; calibrated, the shape's).
3. **Filtering**: the One Euro filter of the config's `track.filter` on the calibrated joints:
   jitter (`metrics.jitter`, mean frame-to-frame acceleration) per frame over filtered, and
   All-21 before and after. `--tune` first prints a grid of (min_cutoff_hz, beta) on sequences
   of seed `--seed − 1` (not the measured ones). `--tune_calibration` first prints, for each
   weight of the bone-length prior in "fit"'s energy (`CALIBRATION_GRID`,
   `track.calibration.bone_weight`), the bone-length error on sequences of seed `--seed − 1`
   of other subjects (`--tune_subjects`, the training's "handid_like" by default), so that the
   weight is not chosen on the measured subjects.

The last line is one JSON object with `fps`, `calibrated_f1_min` (the lower subject's F1 of the
config's calibration method), `jitter_reduction`, the other figures, and the machine.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # pylint: disable=wrong-import-position

from handvol import configs  # pylint: disable=wrong-import-position
from handvol.data.synthetic import export  # pylint: disable=wrong-import-position
from handvol.evaluation import metrics  # pylint: disable=wrong-import-position
from handvol.hand import skeleton  # pylint: disable=wrong-import-position
from handvol.track import one_euro  # pylint: disable=wrong-import-position
from handvol.track import shape as shape_lib  # pylint: disable=wrong-import-position
from handvol.track import sources  # pylint: disable=wrong-import-position
from handvol.track import tracker as tracker_lib  # pylint: disable=wrong-import-position
import machine_info  # pylint: disable=wrong-import-position,import-error

FORMAT = "capture"
SUBJECTS = "unseen_test"
TUNE_GRID = {"min_cutoff_hz": (0.5, 1.0, 2.0, 4.0), "beta": (0.0, 0.0005, 0.002, 0.01)}
CALIBRATION_GRID = (1e-1, 1e-2, 1e-3, 1e-4, 0.0)
"""Weights of the bone-length prior that `--tune_calibration` tries."""
FIGURE_KEYPOINT = skeleton.KEYPOINT_NAMES.index("index_tip")
WARM_UP_FRAMES = 2
"""Frames tracked before the timing: the first localises the hand, the second follows it
("follow"), so that both paths' functions are traced. The tracing is a one-off start-up cost
(seconds), printed on its own; counted in, it took 6–8 ms off each of the 600 frames."""


def _parse_args():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--checkpoint", required=True, help="A .keras checkpoint or an export.")
  parser.add_argument("--per_subject", type=int, default=2, help="Sequences per subject.")
  parser.add_argument("--frames", type=int, default=150, help="Frames per sequence.")
  parser.add_argument("--seed", type=int, default=1000)
  parser.add_argument("--config", default="default", help="Its `track` section is used.")
  parser.add_argument("--reference", choices=tracker_lib.REFERENCES,
                      help="Overrides the config's track.reference (a baseline in one run).")
  parser.add_argument("--tune", action="store_true", help="Print the filter's grid first.")
  parser.add_argument("--tune_calibration", action="store_true",
                      help="Print the calibration's bone-weight grid first.")
  parser.add_argument("--tune_subjects", default="handid_like",
                      help="Subject set of --tune_calibration's sequences.")
  parser.add_argument("--figure", help="PNG of raw against filtered trajectories.")
  parser.add_argument("--out", help="Optional path of a JSON file with the result.")
  return parser.parse_args()


class Recorder:
  """A `FramePredictor` that keeps its outputs, so other settings can replay them."""

  def __init__(self, predictor):
    self.predictor, self.outputs = predictor, []

  def __call__(self, depth, intrinsics, **kwargs):
    self.outputs.append(self.predictor(depth, intrinsics, **kwargs))
    return self.outputs[-1]


class Replay:
  """The recorded outputs again, frame by frame; crops from the real predictor."""

  def __init__(self, recorder):
    self.recorder, self._next = recorder, iter(recorder.outputs)

  def __call__(self, depth, intrinsics, **kwargs):
    return next(self._next)

  def crops(self, *arguments):
    return self.recorder.predictor.crops(*arguments)


def _sequence(folder):
  files = sources.read_timestamps(os.path.join(folder, export.TIMESTAMPS_FILE))
  with np.load(os.path.join(folder, export.TRUTH_FILE)) as truth:
    return files, {key: truth[key] for key in truth.files}


def _frames(files):
  return sources.folder_frames(files, export.FORMAT_INTRINSICS[FORMAT])


def _timed_pass(predictor, folders, track_config):
  """Per sequence a `Recorder` of a run without calibration; the frames per second."""
  plain = dict(track_config, calibration=dict(track_config["calibration"], method="none"))
  recorders, frames, seconds = [], 0, 0.0
  for index, folder in enumerate(folders):
    files, _ = _sequence(folder)
    if index == 0:  # warm-up: traces the functions of both paths (localise, then follow)
      start = time.perf_counter()
      warm = tracker_lib.Tracker(predictor, plain)
      for frame in _frames(files[:WARM_UP_FRAMES]):
        warm.push("warm-up", frame.time_s, frame.depth, frame.intrinsics)
      print(f"start-up (tracing, {WARM_UP_FRAMES} frames): "
            f"{time.perf_counter() - start:.1f} s", flush=True)
    recorder = Recorder(predictor)
    start = time.perf_counter()
    tracker_lib.track(_frames(files), tracker_lib.Tracker(recorder, plain), verbose=0)
    seconds += time.perf_counter() - start
    frames += len(files)
    recorders.append(recorder)
  return recorders, frames / seconds


def _replay(recorder, files, track_config, method, kind):
  config = dict(track_config, calibration=dict(track_config["calibration"], method=method),
                filter=dict(track_config["filter"], kind=kind))
  tracker = tracker_lib.Tracker(Replay(recorder), config)
  start = time.perf_counter()
  results = tracker_lib.track(_frames(files), tracker, verbose=0)
  return results, tracker.shape, time.perf_counter() - start


def _stack(results, key):
  return np.stack([r[key] for r in results])


def _jitter(results):
  """`metrics.jitter` of the valid frames' joints (a frame without a hand is left out)."""
  return metrics.jitter(_stack(results, "joints_xyz")[_stack(results, "valid")])


def _all21(results, truth, key="joints_xyz"):
  valid = _stack(results, "valid")
  return metrics.mean_error(metrics.joint_errors(_stack(results, key)[valid],
                                                 truth["truth_xyz"][valid]))


def _measure_sequence(recorder, folder, track_config):
  """The figures of one sequence (module docstring)."""
  files, truth = _sequence(folder)
  raw, _, _ = _replay(recorder, files, track_config, "none", "none")
  valid = _stack(raw, "valid")
  row = {"subject": int(truth["subject"][0]), "frames": len(files),
         "valid": float(np.mean(valid)), "all21_per_frame": _all21(raw, truth),
         "per_frame_lengths": _stack(raw, "bone_lengths")[valid],
         "jitter_per_frame": _jitter(raw),
         "jitter_truth": metrics.jitter(truth["truth_xyz"]), "shapes": {}}
  for method in shape_lib.METHODS:
    results, shape, seconds = _replay(recorder, files, track_config, method, "none")
    row["shapes"][method] = {
        "shape": shape, "signed_error_per_bone": shape.bone_lengths - truth["bone_lengths"],
        "all21": _all21(results, truth), "seconds": seconds, "results": results}
  chosen = row["shapes"][track_config["calibration"]["method"]]
  # The same shape held fixed, now with the filter: the full pipeline.
  filtered = tracker_lib.track(
      _frames(files), tracker_lib.Tracker(Replay(recorder), track_config, chosen["shape"]),
      verbose=0)
  row.update(all21_calibrated=chosen["all21"], all21_filtered=_all21(filtered, truth),
             jitter_calibrated=_jitter(chosen["results"]),
             jitter_filtered=_jitter(filtered),
             trajectories={"truth": truth["truth_xyz"], "time_s": truth["time_s"],
                           "per_frame": _stack(raw, "joints_xyz"),
                           "calibrated": _stack(chosen["results"], "joints_xyz"),
                           "filtered": _stack(filtered, "joints_xyz"), "valid": valid})
  return row


def _f1(rows, features):
  """k-means F1 per subject over every valid frame of every sequence."""
  subjects = np.concatenate([np.full(len(f), row["subject"]) for row, f in zip(rows, features)])
  return metrics.kmeans_f1(np.concatenate(features), subjects)


def _calibration_summary(rows, method):
  signed = [row["shapes"][method]["signed_error_per_bone"] for row in rows]
  errors = np.mean(np.abs(signed), axis=0)
  shapes = [np.tile(row["shapes"][method]["shape"].bone_lengths,
                    (len(row["per_frame_lengths"]), 1)) for row in rows]
  f1 = _f1(rows, shapes)
  return {"f1": f1, "f1_min": min(f1.values()),
          "bone_error_mean_mm": float(errors.mean()), "bone_error_max_mm": float(errors.max()),
          "bone_error_worst_bone": skeleton.BONE_NAMES[int(np.argmax(errors))],
          "bone_error_per_bone_mm": dict(zip(skeleton.BONE_NAMES,
                                             np.round(errors, 2).tolist())),
          "bone_error_signed_per_bone_mm": dict(zip(skeleton.BONE_NAMES, np.round(
              np.mean(signed, axis=0), 2).tolist())),
          "all21_mm": float(np.mean([row["shapes"][method]["all21"] for row in rows])),
          "seconds": float(np.mean([row["shapes"][method]["seconds"] for row in rows]))}


def _tune(predictor, folders, track_config):
  """All-21 and jitter reduction of each (min_cutoff_hz, beta) on calibrated joints."""
  recorders, _ = _timed_pass(predictor, folders, track_config)
  rows = [_measure_sequence(r, f, track_config) for r, f in zip(recorders, folders)]
  print("min_cutoff_hz  beta    All-21 change   jitter reduction")
  for cutoff in TUNE_GRID["min_cutoff_hz"]:
    for beta in TUNE_GRID["beta"]:
      changes, reductions = [], []
      for row in rows:
        path = row["trajectories"]
        shape = row["shapes"][track_config["calibration"]["method"]]["shape"]
        filtered = shape_lib.impose_bone_lengths(one_euro.filter_sequence(
            path["calibrated"], path["time_s"], cutoff, beta,
            track_config["filter"]["d_cutoff_hz"], path["valid"]), shape.bone_lengths)
        valid = path["valid"]
        after = metrics.mean_error(metrics.joint_errors(filtered[valid], path["truth"][valid]))
        changes.append(after / row["all21_calibrated"] - 1.0)
        reductions.append(row["jitter_calibrated"] / metrics.jitter(filtered[valid]))
      print(f"{cutoff:13.2f}  {beta:6.4f}  {100 * np.mean(changes):+12.1f} %  "
            f"{np.mean(reductions):15.2f}x", flush=True)


def _tune_calibration(predictor, folders, track_config):
  """The bone-length error of "fit" for each weight of `CALIBRATION_GRID`, of "robust_mean" and
  of the mean hand (β = 0, no calibration), on the calibration frames of each sequence; returns
  the rows printed."""
  recorders, _ = _timed_pass(predictor, folders, track_config)
  mean_hand = shape_lib.shape_from_beta(np.zeros(skeleton.NUM_BETA), "mean_hand", 0)
  rows = []
  print("bone_weight   bone error mean  worst   signed mean  (mm, mean over sequences)")
  for method, weight in [("mean_hand", None), ("robust_mean", None)] + [
      ("fit", weight) for weight in CALIBRATION_GRID]:
    signed = []
    for recorder, folder in zip(recorders, folders):
      files, truth = _sequence(folder)
      shape = mean_hand
      if method != "mean_hand":
        bone_weight = shape_lib.ENERGY_WEIGHTS["bone"] if weight is None else weight
        config = dict(track_config, calibration=dict(track_config["calibration"],
                                                      bone_weight=bone_weight))
        _, shape, _ = _replay(recorder, files, config, method, "none")
      signed.append(shape.bone_lengths - truth["bone_lengths"])
    errors = np.mean(np.abs(signed), axis=0)
    row = {"bone_weight": weight, "method": method, "bone_error_mean_mm": float(errors.mean()),
           "bone_error_max_mm": float(errors.max()),
           "signed_mean_mm": float(np.mean(signed))}
    rows.append(row)
    name = method if weight is None else f"{weight:g}"
    print(f"{name:>11s}  {row['bone_error_mean_mm']:15.2f}  {row['bone_error_max_mm']:5.2f}  "
          f"{row['signed_mean_mm']:+11.2f}", flush=True)
  return rows


def _write(folder, args, seed, subjects=SUBJECTS):
  return export.write_sequences(folder, 2 * args.per_subject, args.frames, FORMAT, subjects,
                                seed=seed, progress=False)


def _figure(path, row):
  """Raw (per frame), calibrated + filtered and true x, y, z of one fingertip over time."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
  paths = row["trajectories"]
  figure, axes = pyplot.subplots(3, 1, figsize=(9, 7), sharex=True)
  for axis, name, ax in zip(range(3), "xyz", axes):
    ax.plot(paths["time_s"], paths["per_frame"][:, FIGURE_KEYPOINT, axis], color="0.6",
            lw=1, label="per frame (network)")
    ax.plot(paths["time_s"], paths["filtered"][:, FIGURE_KEYPOINT, axis], color="C0", lw=1.8,
            label="calibrated + One Euro filter")
    ax.plot(paths["time_s"], paths["truth"][:, FIGURE_KEYPOINT, axis], color="k", lw=1.2,
            ls="--", label="truth")
    ax.set_ylabel(f"{name} (mm)")
  figure.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9)
  figure.suptitle(f"{skeleton.KEYPOINT_NAMES[FIGURE_KEYPOINT]} of subject {row['subject']}: "
                    f"jitter {row['jitter_per_frame']:.1f} → {row['jitter_filtered']:.1f} "
                    f"mm/frame² (truth {row['jitter_truth']:.1f})", fontsize=10)
  axes[-1].set_xlabel("time (s)")
  figure.tight_layout(rect=(0, 0.05, 1, 1))
  figure.savefig(path, dpi=110)
  print(f"figure: {path}")


def _summary(rows, fps, track_config):
  jitter = [row["jitter_per_frame"] / row["jitter_filtered"] for row in rows]
  calibration = {method: _calibration_summary(rows, method) for method in shape_lib.METHODS}
  per_frame_f1 = _f1(rows, [row["per_frame_lengths"] for row in rows])
  chosen = calibration[track_config["calibration"]["method"]]
  all21 = {key: float(np.mean([row[key] for row in rows]))
           for key in ("all21_per_frame", "all21_calibrated", "all21_filtered")}
  return {
      "fps": fps, "calibrated_f1_min": chosen["f1_min"],
      "jitter_reduction": float(np.mean(jitter)),
      "calibration_method": track_config["calibration"]["method"],
      "per_frame_f1": per_frame_f1, "calibration": calibration, **all21,
      "all21_filter_change": all21["all21_filtered"] / all21["all21_calibrated"] - 1.0,
      "all21_calibration_change": all21["all21_calibrated"] / all21["all21_per_frame"] - 1.0,
      "jitter_truth": float(np.mean([row["jitter_truth"] for row in rows])),
      "valid_fraction": float(np.mean([row["valid"] for row in rows])),
      "sequences": [{key: row[key] for key in ("subject", "frames", "all21_per_frame",
                                               "all21_calibrated", "all21_filtered",
                                               "jitter_per_frame", "jitter_filtered")}
                    for row in rows],
      "track_config": track_config, "machine": machine_info.describe(),
  }


def main():
  args = _parse_args()
  track_config = configs.validate(configs.load(args.config),
                                  tracker_lib.CONFIG_CHOICES)["track"]
  if args.reference:
    track_config["reference"] = args.reference
  predictor = tracker_lib.FramePredictor(args.checkpoint, track_config["reference"])
  tuned = None
  with tempfile.TemporaryDirectory() as scratch:
    if args.tune_calibration:
      tuned = _tune_calibration(predictor, _write(os.path.join(scratch, "tune_calibration"),
                                                  args, args.seed - 1, args.tune_subjects),
                                track_config)
    if args.tune:
      _tune(predictor, _write(os.path.join(scratch, "tune"), args, args.seed - 1), track_config)
    folders = _write(os.path.join(scratch, "measure"), args, args.seed)
    recorders, fps = _timed_pass(predictor, folders, track_config)
    rows = [_measure_sequence(r, f, track_config) for r, f in zip(recorders, folders)]
  result = dict(_summary(rows, fps, track_config), checkpoint=args.checkpoint,
                seed=args.seed, frames_per_sequence=args.frames)
  if tuned:
    result["tune_calibration"] = {"subjects": args.tune_subjects, "seed": args.seed - 1,
                                  "rows": tuned}
  for row in result["sequences"]:
    print(f"subject {row['subject']}: All-21 per frame {row['all21_per_frame']:.1f}, "
          f"calibrated {row['all21_calibrated']:.1f}, filtered {row['all21_filtered']:.1f} mm; "
          f"jitter {row['jitter_per_frame']:.2f} → {row['jitter_filtered']:.2f} mm/frame²")
  for method, summary in result["calibration"].items():
    print(f"{method}: F1 {summary['f1']}, bone error mean {summary['bone_error_mean_mm']:.2f} "
          f"max {summary['bone_error_max_mm']:.2f} mm ({summary['bone_error_worst_bone']}), "
          f"All-21 {summary['all21_mm']:.1f} mm, "
          f"{summary['seconds']:.1f} s per sequence")
  print(f"per frame: F1 {result['per_frame_f1']};  {fps:.1f} fps;  {machine_info.line()}")
  if args.figure:
    _figure(args.figure, rows[0])
  if args.out:
    pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
  print(json.dumps(result))


if __name__ == "__main__":
  main()
