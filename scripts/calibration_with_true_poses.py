"""Can the shape calibration's energy find a hand's bone lengths when the poses are right?

  python scripts/calibration_with_true_poses.py [--sequences 4] [--frames_per_sequence 150] \
      [--calibration_frames 64] [--steps 100] [--seed 1000] [--out FILE]

Issue 24's calibration ("fit", `handvol.track.shape.fit_shape`) minimises the generative
energy over N frames of one hand with one shared β. On the tracking bench's sequences (the
unseen test subjects 8 and 9 in turn, `handvol.data.synthetic.sequences`, seed 1000) this script
removes the network from it: crops centred on the true hand centre (the mean of the 21 true
joints) and the true θ of every frame. From the first `--calibration_frames` frames of each
sequence it fits, with the calibration's energy (`shape.energy_model`) and its Adam settings:

- "beta, true theta": β alone, θ held at the truth, β started at the mean hand (β = 0);
- "beta, true theta, no prior": the same without the bone-length prior (λ_bone = 0);
- "beta from the truth": β alone started at the subject's true β (does the energy's minimum
  lie at the true shape, or does the fit walk away from it?);
- "beta and theta": both free, from the true θ and the mean hand (what the calibration does,
  started at the truth instead of the network's output).

For each it prints the bone-length error per sequence (mean over the 20 bones, the worst bone,
the signed mean: negative is too short, mm) and, over the four sequences, the mean distance
between the calibrated shapes of the same subject and of different subjects (mm per bone); the
two subjects' true shapes differ by about 3 mm per bone. To look for what moves the energy's
minimum: `--uniform_widths` renders the subjects with the mean hand's finger widths and palm
thickness (the model's Gaussians have fixed widths; the generator's hands do not), so that
they differ in bone lengths alone; `--clean_depth` fits to the renderer's z-buffer instead of
the sensor's depth; `--max_gaussians` sets the quadtree's size. The last line is one JSON
object.
"""

import dataclasses
import json

from absl import app
from absl import flags
import numpy as np

from handvol.data.synthetic import export as synthetic_export
from handvol.data.synthetic import generator
from handvol.data.synthetic import sequences
from handvol.export import serving
from handvol.geometry import camera
from handvol.model import fitting
from handvol.track import shape as shape_lib

_SEQUENCES = flags.DEFINE_integer("sequences", 4, "Sequences (subjects 8 and 9 in turn).")
_FRAMES = flags.DEFINE_integer("frames_per_sequence", 150,
                               "Frames rendered per sequence (the tracking bench's 150).")
_CALIBRATION_FRAMES = flags.DEFINE_integer("calibration_frames", 64,
                                           "The first frames each shape is fitted to.")
_STEPS = flags.DEFINE_integer("steps", 100, "Adam steps (track.calibration.steps).")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 0.01, "Adam's rate.")
_SEED = flags.DEFINE_integer("seed", 1000, "The run's seed (the tracking bench's 1000).")
_UNIFORM_WIDTHS = flags.DEFINE_bool(
    "uniform_widths", False,
    "Render the subjects with the mean hand's finger widths and palm thickness (radius and "
    "thickness scales 1), so that they differ in bone lengths alone.")
_CLEAN_DEPTH = flags.DEFINE_bool(
    "clean_depth", False, "Fit to the renderer's z-buffer instead of the sensor's depth.")
_MAX_GAUSSIANS = flags.DEFINE_integer("max_gaussians", 1024,
                                      "The quadtree's size (the tracker's 1024).")
_OUT = flags.DEFINE_string("out", None, "Optional path of a JSON file with the result.")

BONE_WEIGHT = shape_lib.ENERGY_WEIGHTS["bone"]
FITS = (  # name, parameters freed, λ_bone, start at the true β
    ("beta, true theta", ("beta",), BONE_WEIGHT, False),
    ("beta, true theta, no prior", ("beta",), 0.0, False),
    ("beta from the truth", ("beta",), BONE_WEIGHT, True),
    ("beta and theta", ("theta", "beta"), BONE_WEIGHT, False),
)


def _sequence(index, config):
  """The first calibration frames of sequence `index`: the fit's examples, true θ `[N, 26]`,
  true β `[20]` and the subject."""
  subject = sequences.sequence_subject("unseen_test", index)
  if _UNIFORM_WIDTHS.value:
    subject = dataclasses.replace(subject, bone_radius_scale=np.ones_like(
        subject.bone_radius_scale), palm_thickness_scale=1.0)
  frames = list(sequences.generate_sequence(_FRAMES.value, subject, _SEED.value, index,
                                            config))[:_CALIBRATION_FRAMES.value]
  count = len(frames)
  intrinsics = np.tile(np.asarray(config.intrinsics, np.float32), (count, 1))
  centre = np.stack([f["truth_xyz"].mean(axis=0) for f in frames]).astype(np.float32)
  crops = serving.preprocess_frames(
      np.stack([f["clean_depth" if _CLEAN_DEPTH.value else "depth"]
                for f in frames]).astype(np.float32), np.ones(count, np.float32),
      intrinsics, camera.xyz_to_uvd(centre, intrinsics), np.ones(count, np.float32),
      refiner=None)
  examples = shape_lib.fit_examples(crops["crop_depth"].numpy(),
                                    crops["crop_intrinsics"].numpy(),
                                    crops["center_xyz"].numpy(), _MAX_GAUSSIANS.value)
  theta = np.stack([f["theta"] for f in frames]).astype(np.float32)
  return examples, theta, subject


def _pair_distances(lengths, subject_ids):
  """Mean |Δ length| (mm per bone) between calibrated shapes of the same subject and of
  different subjects."""
  same, different = [], []
  for i in range(len(lengths)):
    for j in range(i + 1, len(lengths)):
      distance = float(np.abs(lengths[i] - lengths[j]).mean())
      (same if subject_ids[i] == subject_ids[j] else different).append(distance)
  return (round(float(np.mean(same)), 2) if same else None,
          round(float(np.mean(different)), 2) if different else None)


def main(argv):
  del argv
  # The bench's sequences: the capture format's camera (`synthetic_export.write_sequences`).
  config = dataclasses.replace(generator.SyntheticConfig(),
                               intrinsics=tuple(synthetic_export.FORMAT_INTRINSICS["capture"]))
  loaded = [_sequence(index, config) for index in range(_SEQUENCES.value)]
  subject_ids = [subject.subject_id for _, _, subject in loaded]
  truths = [subject.lengths for _, _, subject in loaded]
  mean_hand = shape_lib.shape_from_beta(np.zeros(20), "mean", 0).bone_lengths
  result = {"subjects": subject_ids, "uniform_widths": _UNIFORM_WIDTHS.value,
            "clean_depth": _CLEAN_DEPTH.value, "max_gaussians": _MAX_GAUSSIANS.value,
            "calibration_frames": _CALIBRATION_FRAMES.value,
            "steps": _STEPS.value, "seed": _SEED.value,
            "mean_hand_error_mm": [round(float(np.abs(mean_hand - t).mean()), 2)
                                   for t in truths],
            "fits": {}}
  distinct = [i for i, s in enumerate(subject_ids) if s not in subject_ids[:i]]
  if len(distinct) > 1:
    result["true_shapes_differ_mm"] = round(float(np.abs(truths[distinct[0]]
                                                         - truths[distinct[1]]).mean()), 2)
  print(f"mean hand: bone error {result['mean_hand_error_mm']} mm; the subjects' true shapes "
        f"differ by {result.get('true_shapes_differ_mm')} mm per bone")
  for name, fit, bone_weight, from_truth in FITS:
    model = shape_lib.energy_model(bone_weight)
    rows, lengths = [], []
    for (examples, theta, subject), truth in zip(loaded, truths):
      start = np.tile(subject.beta if from_truth else np.zeros(20), (len(theta), 1))
      fitted = fitting.fit_parameters(model, examples, theta, start.astype(np.float32),
                                      _STEPS.value, _LEARNING_RATE.value, fit=fit,
                                      verbose=False, share_beta=True)
      shape = shape_lib.shape_from_beta(fitted["beta"][0], "fit", len(theta))
      error = shape.bone_lengths - truth
      rows.append({"subject": subject.subject_id,
                   "bone_error_mean_mm": round(float(np.abs(error).mean()), 2),
                   "bone_error_max_mm": round(float(np.abs(error).max()), 2),
                   "bone_error_signed_mm": round(float(error.mean()), 2)})
      lengths.append(shape.bone_lengths)
    same, different = _pair_distances(lengths, subject_ids)
    result["fits"][name] = {"sequences": rows, "same_subject_mm": same,
                            "different_subjects_mm": different}
    print(f"{name:28s} bone error per sequence (mean / worst / signed, mm): "
          + ", ".join(f"{r['bone_error_mean_mm']} / {r['bone_error_max_mm']} / "
                      f"{r['bone_error_signed_mm']}" for r in rows)
          + f"; shapes apart, same subject {same}, different subjects {different}", flush=True)
  if _OUT.value:
    with open(_OUT.value, "w", encoding="utf-8") as f:
      json.dump(result, f, indent=1)
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
