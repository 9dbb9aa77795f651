"""How much of a hand's shape does the network see? Calibration on many subjects it never saw.

  python scripts/shape_on_unseen_subjects.py [--checkpoint FILE] [--first_subject 300] \
      [--subjects 32] [--per_subject 1] [--frames 64] [--calibration_frames N] [--seed 998] \
      [--steps N] [--out FILE]

The tracking bench (`bench/track.py`) measures issue 24's shape calibration on two subjects, 8
and 9, both larger than the mean hand. This script asks what the network's shape is worth on
hands of every size: `--per_subject` sequences of `--frames` frames for each of `--subjects`
generator subjects from `--first_subject` on (the subjects in turn; drawn from the bone-length
model like every subject; the shipped `scenes` model trained on subjects 0–7 and 10–201, so
202 and up are unseen), seed `--seed` (not the bench's 1000 or its tuning seed 999), tracked by
`handvol.track` with the default `track` config. From each sequence's first
`--calibration_frames` valid frames (all of them by default) it takes:

- "mean hand": β = 0, no calibration;
- "robust_mean": the robust mean of the network's per-frame β (`shape.robust_mean`);
- "fit": the calibration's default, the generative energy with one β started at the robust
  mean (`shape.fit_shape`);
- "fit from the mean hand": the same energy and steps, β started at 0.

It prints each one's bone-length error (mean over subjects of |calibrated − true| per bone;
the mean over bones, the worst bone, the signed mean: negative is too short, mm) and, for the
first `SHOWN_COEFFICIENTS` coefficients of β, how the network's robust mean spreads over the
subjects against the truth (SD, correlation, mean offset; the truth is N(0, 1) by
construction). With exactly two subjects it also prints each shape's bone-length k-means F1
per subject, as the bench does (the calibrated lengths on every valid frame): `--first_subject 8
--subjects 2 --per_subject 2 --frames 150 --calibration_frames 64 --seed 1000` are the bench's
four sequences. The last line is one JSON object.
"""

import json
import os
import tempfile

from absl import app
from absl import flags
import numpy as np

from handvol import configs
from handvol import pretrained
from handvol.data.synthetic import export as synthetic_export
from handvol.evaluation import metrics
from handvol.hand import skeleton
from handvol.track import shape as shape_lib
from handvol.track import sources
from handvol.track import tracker as tracker_lib

_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "A .keras checkpoint or an export (default: the shipped model).")
_FIRST_SUBJECT = flags.DEFINE_integer("first_subject", 300, "The first subject id.")
_SUBJECTS = flags.DEFINE_integer("subjects", 32, "Subjects, one sequence each.")
_PER_SUBJECT = flags.DEFINE_integer("per_subject", 1, "Sequences per subject.")
_FRAMES = flags.DEFINE_integer("frames", 64, "Frames per sequence.")
_CALIBRATION_FRAMES = flags.DEFINE_integer(
    "calibration_frames", None, "Valid frames calibrated on (default: all of a sequence's).")
_SEED = flags.DEFINE_integer("seed", 998, "The sequences' seed.")
_STEPS = flags.DEFINE_integer("steps", None, "The fits' Adam steps (default: the config's).")
_OUT = flags.DEFINE_string("out", None, "Optional path of a JSON file with the result.")

FORMAT = "capture"
SHOWN_COEFFICIENTS = 5
METHODS = ("mean hand", "robust_mean", "fit", "fit from the mean hand")


class _Calibrating(tracker_lib.Tracker):
  """A tracker whose calibration makes every shape of `METHODS` (`shapes`) from the same frames
  and quadtree; it holds "fit", made as `Tracker.calibrate` makes it."""

  shapes = None

  def calibrate(self, results):
    betas = np.stack([r["beta"] for r in results])
    examples = shape_lib.fit_examples(*(np.stack([r["crop"][key] for r in results])
                                        for key in ("crop_depth", "crop_intrinsics",
                                                    "center_xyz")), self.max_gaussians)
    calibration = self.config["calibration"]

    def fit(start):  # the tracker's "fit" (`Tracker.calibrate`) from another start
      return shape_lib.fit_shape(examples, np.stack([r["theta"] for r in results]), start,
                                 calibration["steps"], calibration["learning_rate"],
                                 calibration["bone_weight"])
    self.shapes = {
        "mean hand": shape_lib.shape_from_beta(np.zeros(skeleton.NUM_BETA), "mean hand", 0),
        "robust_mean": shape_lib.shape_from_beta(shape_lib.robust_mean(betas), "robust_mean",
                                                 len(betas)),
        "fit": fit(betas), "fit from the mean hand": fit(np.zeros_like(betas))}
    return self.shapes["fit"]


def _track(predictor, folder, track_config):
  files = sources.read_timestamps(os.path.join(folder, synthetic_export.TIMESTAMPS_FILE))
  with np.load(os.path.join(folder, synthetic_export.TRUTH_FILE)) as truth:
    truth = {key: truth[key] for key in truth.files}
  tracker = _Calibrating(predictor, track_config)
  results = tracker_lib.track(
      sources.folder_frames(files, synthetic_export.FORMAT_INTRINSICS[FORMAT]), tracker,
      verbose=0)
  if tracker.shapes is None:
    raise RuntimeError(f"{folder}: no valid frame to calibrate on")
  return truth, tracker.shapes, sum(result["valid"] for result in results)


def main(argv):
  del argv
  config = configs.validate(configs.load("default"), tracker_lib.CONFIG_CHOICES)
  track_config = dict(config["track"], filter=dict(config["track"]["filter"], kind="none"))
  track_config["calibration"] = dict(track_config["calibration"], method="fit",
                                     frames=_CALIBRATION_FRAMES.value or _FRAMES.value)
  if _STEPS.value is not None:
    track_config["calibration"]["steps"] = _STEPS.value
  checkpoint = _CHECKPOINT.value or pretrained.CHECKPOINT
  predictor = tracker_lib.FramePredictor(checkpoint, track_config["reference"])
  subjects = tuple(range(_FIRST_SUBJECT.value, _FIRST_SUBJECT.value + _SUBJECTS.value))
  signed = {method: [] for method in METHODS}
  lengths = {method: [] for method in METHODS}
  true_beta, network_beta, sequence_subjects, valid_frames = [], [], [], []
  with tempfile.TemporaryDirectory() as scratch:
    folders = synthetic_export.write_sequences(scratch, _PER_SUBJECT.value * len(subjects),
                                               _FRAMES.value, FORMAT, subjects,
                                               seed=_SEED.value, progress=False)
    for index, folder in enumerate(folders):
      truth, shapes, valid = _track(predictor, folder, track_config)
      for method in METHODS:
        signed[method].append(shapes[method].bone_lengths - truth["bone_lengths"])
        lengths[method].append(shapes[method].bone_lengths)
      sequence_subjects.append(int(truth["subject"][0]))
      valid_frames.append(valid)
      true_beta.append(truth["beta"])
      network_beta.append(shapes["robust_mean"].beta)
      print(f"{index + 1}/{len(folders)} subject {int(truth['subject'][0])}: " + ", ".join(
          f"{method} {np.mean(np.abs(signed[method][-1])):.2f}" for method in METHODS) +
            " mm per bone", flush=True)
  errors = {}
  print(f"\n{'':24s} bone error: mean  worst bone  signed mean (mm, {len(folders)} sequences)")
  for method in METHODS:
    per_bone = np.mean(np.abs(signed[method]), axis=0)
    errors[method] = {"bone_error_mean_mm": float(per_bone.mean()),
                      "bone_error_max_mm": float(per_bone.max()),
                      "bone_error_worst_bone": skeleton.BONE_NAMES[int(np.argmax(per_bone))],
                      "signed_mean_mm": float(np.mean(signed[method]))}
    line = (f"{method:24s} {per_bone.mean():16.2f}  {per_bone.max():10.2f}  "
            f"{np.mean(signed[method]):+11.2f}")
    if len(subjects) == 2:  # the bench's F1: the shape on every valid frame of its sequence
      f1 = metrics.kmeans_f1(np.repeat(lengths[method], valid_frames, axis=0),
                             np.repeat(sequence_subjects, valid_frames))
      errors[method]["f1"] = {str(subject): value for subject, value in f1.items()}
      line += "  F1 " + " / ".join(f"{value:.2f}" for value in f1.values())
    print(line)
  true_beta, network_beta = np.asarray(true_beta), np.asarray(network_beta)
  coefficients = []
  print("\nβ_i  truth SD  network SD  correlation  network mean − truth mean")
  for i in range(SHOWN_COEFFICIENTS):
    row = {"index": i, "truth_sd": float(true_beta[:, i].std()),
           "network_sd": float(network_beta[:, i].std()),
           "correlation": float(np.corrcoef(true_beta[:, i], network_beta[:, i])[0, 1]),
           "offset": float(network_beta[:, i].mean() - true_beta[:, i].mean())}
    coefficients.append(row)
    print(f"{i:3d}  {row['truth_sd']:8.2f}  {row['network_sd']:10.2f}  "
          f"{row['correlation']:+11.2f}  {row['offset']:+10.2f}")
  result = {"checkpoint": checkpoint, "subjects": [subjects[0], subjects[-1]],
            "per_subject": _PER_SUBJECT.value, "frames": _FRAMES.value, "seed": _SEED.value,
            "errors": errors, "network_beta_spread": coefficients,
            "track_calibration": track_config["calibration"]}
  if _OUT.value:
    with open(_OUT.value, "w", encoding="utf-8") as f:
      f.write(json.dumps(result, indent=1) + "\n")
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
