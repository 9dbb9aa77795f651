"""Where does the study's loss take a prediction? Per-frame fits from the truth or a network.

    python scripts/fit_per_frame.py --configurations=e1/full,e2/full,e2/no_dissim \
        [--frames=64] [--steps=300] [--learning_rate=0.01] [--fit=theta,beta] \
        [--start=truth|mean_hand|MODEL.keras] [--set=KEY=VALUE ...] [--sweep=KEY=V1,V2,...]

The reproduction study (`docs/reproduction.md`) trains networks on its configurations' losses.
This takes the network out: for frames of each configuration's test set (the clean set for E1,
the HIM-like set with its wrong labels for E2; `configurations.test_source`, `--frames` of
them) it starts from `--start` and minimises the configuration's weighted energy (SPEC §6, at
`--preset cpu`'s settings plus `--set`) over the parameters named by `--fit`, per frame, by
Adam (`handvol.model.fitting`). The starts:
- "truth": the true pose θ and bone-length coefficients β. A loss that agrees with the truth
  keeps it; one that is biased moves it, and a perfect network trained on it would learn that
  bias.
- "mean_hand": the true θ with β = 0.
- a trained model (`.keras`, e.g. a study run's `checkpoints/last.keras`): its predictions.
  Whether the loss carries them further says whether a network that stopped short was held
  back by the loss or by its training.
The markdown table has a row for the start and one per fit, with the study's numbers: errors
to the true joints, palm flips, MDPC, the error to the labels (the wrong ones on the HIM-like
set), bone-length F1 and how far apart the two subjects' mean bone lengths are
(`report.summarize`); a second table has each row's mean energy per loss term. `--sweep`
repeats each fit for every value of one setting.

Examples. What the study's losses do to the truth:
    python scripts/fit_per_frame.py --configurations=e1/full,e2/full,e2/no_dissim
Can the image tell the two test hands apart (β alone, from the mean hand, image and prior only):
    python scripts/fit_per_frame.py --configurations=e1/full --fit=beta --start=mean_hand \
        --set=loss.weights.joint=0.0 --set=loss.weights.collision=0.0 \
        --sweep=loss.weights.bone=1e-2,3e-3,1e-3,3e-4,1e-4,0.0
Does E2's loss take the trained E2 model's predictions to the surface:
    python scripts/fit_per_frame.py --configurations=e2/full \
        --start=runs/reproduction/e2/full/checkpoints/last.keras
"""

import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position
import keras  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from handvol.data.synthetic import generator  # pylint: disable=wrong-import-position
from handvol.data.synthetic import subjects as subjects_lib  # pylint: disable=wrong-import-position
from handvol.evaluation import evaluate  # pylint: disable=wrong-import-position
from handvol.experiments import configurations  # pylint: disable=wrong-import-position
from handvol.experiments import report  # pylint: disable=wrong-import-position
from handvol.experiments import study  # pylint: disable=wrong-import-position
from handvol.model import fitting  # pylint: disable=wrong-import-position
from handvol.model import hand_pose_model  # pylint: disable=wrong-import-position
from handvol.training import input_pipeline  # pylint: disable=wrong-import-position
from handvol.training import trainer  # pylint: disable=wrong-import-position

STARTS = ("truth", "mean_hand")
"""The named starts; anything else is a model file."""

_CONFIGURATIONS = flags.DEFINE_list("configurations", ["e1/full", "e2/full", "e2/no_dissim"],
                                    "Study configuration keys to fit.")
_FRAMES = flags.DEFINE_integer("frames", 64, "Frames of each test set.", lower_bound=2)
_STEPS = flags.DEFINE_integer("steps", 300, "Adam steps per fit.", lower_bound=0)
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 0.01, "Adam's learning rate.")
_FIT = flags.DEFINE_list("fit", ["theta", "beta"], f"Parameters fitted, some of {fitting.FITTED}.")
_START = flags.DEFINE_string("start", "truth",
                             f"One of {STARTS} or a trained model's .keras file.")
_SET = flags.DEFINE_multi_string("set", [], "Setting KEY=VALUE for every configuration "
                                 "(repeatable).")
_SWEEP = flags.DEFINE_string("sweep", None, "KEY=V1,V2,...: each fit once per value.")


def study_test_frames(test_name, num_frames):
  """`num_frames` frames of a study test set: (true θ `[F, 26]`, true β `[F, 20]`, the batch of
  preprocessed examples as tensors)."""
  entry = configurations.test_source(test_name, configurations.CPU)
  config = input_pipeline.synthetic_config(entry)
  thetas, betas, frame_records = [], [], []
  for frame in generator.generate_frames(num_frames, entry["subjects"], entry["seed"], config):
    thetas.append(frame["theta"])
    betas.append(subjects_lib.make_subject(frame["subject"]).beta)
    frame_records.append(generator.to_record(frame, entry["label_mode"], config.intrinsics))
  source = input_pipeline.from_records(input_pipeline.stack_records(frame_records))
  # Preprocessed as the study's test sets are (`study.prepare_test_set`), in one batch.
  data_config = configurations.preset_config(configurations.CPU)["data"]
  examples = next(iter(input_pipeline.evaluation_split(data_config, source, num_frames)))
  return (np.stack(thetas).astype(np.float32), np.stack(betas).astype(np.float32), examples)


def start_parameters(start, theta, beta, examples):
  """θ `[F, 26]` and β `[F, 20]` of a `--start`, given the true ones and the examples."""
  if start == "truth":
    return theta, beta
  if start == "mean_hand":
    return theta, np.zeros_like(beta)
  model = keras.saving.load_model(start, compile=False)
  outputs = model.predict_joints(examples["depth_input"], examples["crop_intrinsics"],
                                 examples["center_xyz"])
  return outputs["theta"].numpy(), outputs["beta"].numpy()


def summary_row(configuration, test_name, test_set, model, theta, beta):
  """`report.summarize`'s numbers for parameters (θ, β) on the test set."""
  hand = model.hand(theta, beta)
  predictions = {(configuration.key, test_name): {
      "keypoints": hand["keypoints"].numpy(), "bone_lengths": hand["bone_lengths"].numpy()}}
  only_this_test = dataclasses.replace(configuration, test_sets=(test_name,))
  return report.summarize([only_this_test], {test_name: test_set},
                          predictions)[configuration.key][test_name]


def energy_table(energies):
  """Markdown: per row, the frames' mean unweighted energy of each term its loss enables (– for
  the others; SPEC §6 units) and the mean weighted total, from `fit_parameters` results."""
  rows = []
  for label, result in energies.items():
    cells = [f"{np.mean(result['terms'][term]):.4g}" if term in result["terms"] else "–"
             for term in hand_pose_model.LOSS_TERMS]
    rows.append([label, *cells, f"{np.mean(result['energy']):.4g}"])
  return "\n".join(["Mean energies per frame, unweighted (λ = 0: –):", "",
                    evaluate.markdown_table(["row", *hand_pose_model.LOSS_TERMS,
                                             "weighted total"], rows), ""])


def parse_sweep(sweep):
  """"KEY=V1,V2" → ["KEY=V1", "KEY=V2"]; no sweep → [None]."""
  if sweep is None:
    return [None]
  key, separator, values = sweep.partition("=")
  if not separator or not values:
    raise ValueError(f"--sweep must read KEY=V1,V2,..., got {sweep!r}")
  return [f"{key}={value}" for value in values.split(",")]


def _usage_error(message):
  """A bad argument ends the command in one line on stderr and exit code 2 (as eval.py)."""
  print(f"fit_per_frame.py: error: {message}", file=sys.stderr, flush=True)
  raise SystemExit(2)


def _checked_arguments():
  """(configurations, fitted parameter names, sweep settings) of the flags, or a usage error."""
  if _START.value not in STARTS and not os.path.isfile(_START.value):
    _usage_error(f"--start must be one of {STARTS} or a model file, got {_START.value!r}")
  fit = tuple(name for name in _FIT.value if name)
  if not set(fit) <= set(fitting.FITTED):
    _usage_error(f"--fit must name some of {fitting.FITTED}, got {','.join(_FIT.value)!r}")
  try:
    chosen = study.select_configurations(configurations.CPU, tuple(_CONFIGURATIONS.value),
                                         tuple(_SET.value))
    sweep = parse_sweep(_SWEEP.value)
  except ValueError as error:
    _usage_error(str(error))
  return chosen, fit, sweep


def _fit_sweep(configuration, frames, sweep, fit):
  """The start row and one row per swept fit of one configuration on its test frames:
  ({label: {test name: summary row}}, {label: `fit_parameters` result})."""
  test_name = configuration.test_sets[0]
  examples, theta, beta = frames
  test_set = {key: examples[key].numpy() for key in study.TEST_SET_KEYS}
  summary, energies = {}, {}
  for index, setting in enumerate(sweep):
    settings = configuration.settings + ((setting,) if setting else ())
    model = trainer.build_model(configurations.build_config(
        configurations.CPU, dataclasses.replace(configuration, settings=settings)))
    if index == 0:
      start = {"truth": "truth", "mean_hand": "true θ, mean hand"}.get(_START.value, "model")
      label = f"{configuration.key}, start: {start}"
      summary[label] = {
          test_name: summary_row(configuration, test_name, test_set, model, theta, beta)}
      energies[label] = fitting.fit_parameters(model, examples, theta, beta, 0, verbose=False)
    print(f"fitting {configuration.key} on the {test_name} test set"
          + (f", {setting}" if setting else ""), flush=True)
    fitted = fitting.fit_parameters(model, examples, theta, beta, _STEPS.value,
                                    _LEARNING_RATE.value, fit)
    label = f"{configuration.key}, fitted" + (f", {setting}" if setting else "")
    summary[label] = {test_name: summary_row(configuration, test_name, test_set, model,
                                             fitted["theta"], fitted["beta"])}
    energies[label] = fitted
  return summary, energies


def main(argv):
  if len(argv) > 1:
    _usage_error(f"unexpected arguments: {argv[1:]}")
  chosen, fit, sweep = _checked_arguments()
  summary, energies, frames = {}, {}, {}
  for configuration in chosen:
    test_name = configuration.test_sets[0]
    if test_name not in frames:
      true_theta, true_beta, examples = study_test_frames(test_name, _FRAMES.value)
      frames[test_name] = (examples, *start_parameters(_START.value, true_theta, true_beta,
                                                       examples))
    rows, row_energies = _fit_sweep(configuration, frames[test_name], sweep, fit)
    summary.update(rows)
    energies.update(row_energies)
  command = " ".join(["python", "scripts/fit_per_frame.py", *sys.argv[1:]])
  print()
  print(report.format_summary(
      summary, command, title=f"Per-frame fits of the study's losses, from {_START.value}",
      note=f"{_FRAMES.value} frames per test set, {_STEPS.value} Adam steps at "
           f"{_LEARNING_RATE.value:g} on {', '.join(fit)}; errors to the true joints in mm."))
  print(energy_table(energies))


if __name__ == "__main__":
  app.run(main)
