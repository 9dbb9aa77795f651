"""The reproduction study of issue 9: the paper's claims measured on synthetic data.

    python -m handvol.experiments --preset=smoke|cpu|paper --workdir=DIR [--publish]

(`handvol/experiments/__main__.py` parses the flags and calls `run` here.)

Trains every configuration of `configurations.configurations(preset)` through
`handvol.training.train_and_evaluate`, evaluates each model on its test sets, and writes
`DIR/reproduction.json` (every number), `DIR/reproduction.md` (the targets and tables) and the
figures; `--publish` copies them to `--results_dir` (`docs/results/`).

A part or a variant of the study (e.g. another loss weight) trains only the named
configurations, with extra settings, in a work directory of its own, and writes `variant.md`
and `variant.json` (errors, palm flips and MDPC per model and test set) instead of the report:

    python -m handvol.experiments --preset=cpu --workdir=DIR2 --only=e1/full \\
        --set=loss.weights.lim=1.0

Work directory:
- `preset.json`: the preset the directory belongs to (another preset is refused);
- `test_sets/<name>.npz`: the preprocessed test frames, made once;
- `<experiment>/<configuration>/`: the trainer's work directory (`config.json`, `backup/`,
  `checkpoints/`, `summary.json`) and `predictions_<test set>.npz`.
A configuration with a `summary.json` is finished and skipped; an interrupted one is rerun by
the trainer, which resumes from its last finished epoch (`BackupAndRestore`). Rerunning the
command therefore continues where it stopped.
"""

import dataclasses
import json
import os
import pathlib
import platform
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from handvol.experiments import configurations as configurations_lib
from handvol.experiments import report
from handvol.experiments import targets
from handvol.training import evaluate
from handvol.training import input_pipeline
from handvol.training import train_and_evaluate

TEST_SET_KEYS = ("depth_input", "crop_depth", "crop_intrinsics", "center_xyz", "xyz", "kind",
                 "truth_xyz", "has_truth", "subject", "dataset")
"""Keys of the preprocessed test examples the study keeps (inputs, labels, truth, subject)."""


def _log(message):
  print(f"[reproduce] {message}", flush=True)


def _json_round_trip(value):
  return json.loads(json.dumps(value))


def _save_arrays(path, arrays):
  """Writes an `.npz` under a temporary name first: an interruption leaves no partial file."""
  path.parent.mkdir(parents=True, exist_ok=True)
  partial = path.with_suffix(".partial.npz")
  np.savez(partial, **arrays)
  os.replace(partial, path)


def _load_arrays(path):
  with np.load(path) as arrays:
    return dict(arrays)


def claim_workdir(workdir, preset):
  """Creates `workdir` for `preset`, or checks that it already belongs to it.

  Raises:
    ValueError: The directory holds a run of another preset (or of changed preset sizes).
  """
  workdir.mkdir(parents=True, exist_ok=True)
  path = workdir / "preset.json"
  described = _json_round_trip(dataclasses.asdict(preset))
  if path.exists():
    found = json.loads(path.read_text(encoding="utf-8"))
    if found != described:
      raise ValueError(f"{workdir} holds a run of preset {found.get('name')!r} with other "
                       f"settings; use another --workdir")
  else:
    path.write_text(json.dumps(described, indent=1) + "\n", encoding="utf-8")


def prepare_test_set(name, preset, workdir):
  """The preprocessed frames of test set `name`, made once and kept in `test_sets/`.

  Args:
    name: A `configurations.TEST_SETS` name.
    preset: The `configurations.Preset`.
    workdir: The study's work directory (`pathlib.Path`).

  Returns:
    A dict of numpy arrays over the frames, keys `TEST_SET_KEYS`.
  """
  path = workdir / "test_sets" / f"{name}.npz"
  if path.exists():
    return _load_arrays(path)
  _log(f"rendering and preprocessing the {name} test set")
  data_config = configurations_lib.preset_config(preset)["data"]
  examples = input_pipeline.evaluation_split(data_config,
                                             configurations_lib.test_source(name, preset))
  batches = [{key: batch[key].numpy() for key in TEST_SET_KEYS} for batch in examples]
  arrays = {key: np.concatenate([batch[key] for batch in batches]) for key in TEST_SET_KEYS}
  _save_arrays(path, arrays)
  return arrays


def train(preset, configuration, workdir):
  """Trains one configuration (skipped when finished); returns the trainer's summary.

  Raises:
    ValueError: The configuration's directory holds a run of another config.
  """
  run_dir = workdir / configuration.key
  config = configurations_lib.build_config(preset, configuration)
  summary_path = run_dir / "summary.json"
  config_path = run_dir / "config.json"
  if config_path.exists():
    found = json.loads(config_path.read_text(encoding="utf-8"))
    if found != _json_round_trip(config):
      raise ValueError(f"{run_dir} was trained with another config; use another --workdir")
  if summary_path.exists():
    _log(f"{configuration.key}: finished earlier, skipped")
  else:
    _log(f"{configuration.key}: training ({configuration.title})")
    train_and_evaluate(config, str(run_dir))
    # Each training builds its own model and datasets; drop the last one's graphs.
    keras.backend.clear_session()
  return json.loads(summary_path.read_text(encoding="utf-8"))


def predict(configuration, test_name, test_set, workdir):
  """The trained model's keypoints and bone lengths on a test set (kept in the run's folder).

  The model is the last one of training (`checkpoints/last.keras`), the one whose errors the
  trainer's `summary.json` reports.

  Returns:
    A dict: "keypoints" `[F, 21, 3]` and "bone_lengths" `[F, 20]`, mm.
  """
  run_dir = workdir / configuration.key
  path = run_dir / f"predictions_{test_name}.npz"
  if path.exists():
    return _load_arrays(path)
  _log(f"{configuration.key}: predicting the {test_name} test set")
  model = keras.saving.load_model(run_dir / "checkpoints" / "last.keras", compile=False)
  batch_size = json.loads((run_dir / "config.json").read_text())["data"]["batch_size"]
  outputs = evaluate.predict(model, tf.data.Dataset.from_tensor_slices(test_set).batch(
      batch_size))
  arrays = {key: outputs[key] for key in ("keypoints", "bone_lengths")}
  _save_arrays(path, arrays)
  keras.backend.clear_session()
  return arrays


def select_configurations(preset, only=(), extra_settings=()):
  """The study's configurations, or those named in `only`, each with `extra_settings` appended.

  Args:
    preset: A `configurations.Preset`.
    only: Configuration keys ("e1/full", ...) to keep, in the study's order; all when empty.
    extra_settings: `key=value` settings applied after each configuration's own.

  Returns:
    A tuple of `configurations.Configuration`.

  Raises:
    ValueError: A key of `only` is not a configuration of the study.
  """
  study = configurations_lib.configurations(preset)
  unknown = sorted(set(only) - {c.key for c in study})
  if unknown:
    raise ValueError(f"no configuration {unknown} in the study; the configurations are "
                     f"{[c.key for c in study]}")
  return tuple(dataclasses.replace(c, settings=c.settings + tuple(extra_settings))
               for c in study if not only or c.key in only)


def run(preset, workdir, command, only=(), extra_settings=()):
  """Runs (or continues) the whole study and writes its report; or a part or a variant of it.

  With `only` or `extra_settings`, the named configurations train with the extra settings
  (`select_configurations`) and the run writes `variant.json` and `variant.md`
  (`report.summarize`: errors, palm flips, MDPC per model and test set) instead of the
  study's report, whose targets compare the study's own configurations. A variant needs a work
  directory of its own (each configuration's `config.json` must match).

  Args:
    preset: A `configurations.Preset`.
    workdir: The work directory.
    command: The command line, recorded in the report.
    only: Configuration keys to run (all when empty).
    extra_settings: `key=value` settings applied after each configuration's own.

  Returns:
    A tuple (the `reproduction.json` dict, or the `variant.json` dict, and the written paths
    relative to `workdir`).
  """
  start = time.time()
  workdir = pathlib.Path(workdir)
  claim_workdir(workdir, preset)
  study_configurations = select_configurations(preset, only, extra_settings)
  test_sets = {name: prepare_test_set(name, preset, workdir)
               for name in configurations_lib.TEST_SETS}
  summaries, predictions = {}, {}
  for index, configuration in enumerate(study_configurations, start=1):
    _log(f"configuration {index}/{len(study_configurations)}: {configuration.key}")
    summaries[configuration.key] = train(preset, configuration, workdir)
    for test_name in configuration.test_sets:
      predictions[(configuration.key, test_name)] = predict(configuration, test_name,
                                                            test_sets[test_name], workdir)
  _log("evaluating")
  if only or extra_settings:
    variant = {"command": command, "preset": dataclasses.asdict(preset),
               "extra_settings": list(extra_settings),
               "configurations": {c.key: {"settings": list(c.settings),
                                          "training": summaries[c.key]}
                                  for c in study_configurations},
               "summary": report.summarize(study_configurations, test_sets, predictions),
               "wall_seconds": time.time() - start}
    return variant, _write_variant(workdir, variant, command)
  study = _study(preset, study_configurations, summaries,
                 report.analyze(study_configurations, test_sets, predictions), command, start)
  written = report.write(workdir, study, test_sets, predictions)
  for target in study["targets"]:
    _log(f"{target['experiment']}: {target['target']}: {target['met']} ({target['detail']})")
  return study, written


def _write_variant(workdir, variant, command):
  """Writes `variant.json` and `variant.md`; returns their paths relative to `workdir`."""
  (workdir / "variant.json").write_text(json.dumps(variant, indent=1, allow_nan=False) + "\n",
                                        encoding="utf-8")
  (workdir / "variant.md").write_text(report.format_summary(variant["summary"], command),
                                      encoding="utf-8")
  return ["variant.json", "variant.md"]


def _study(preset, study_configurations, summaries, results, command, start):
  """The `reproduction.json` dict of the study's results (`start`: the run's `time.time()`)."""
  total_seconds = float(sum(s["total_seconds"] for s in summaries.values()))
  return {
      "command": command,
      "preset": dataclasses.asdict(preset),
      "machine": (f"{platform.machine()}, {os.cpu_count()} CPU cores, "
                  f"GPUs: {len(tf.config.list_physical_devices('GPU'))}, "
                  f"TensorFlow {tf.__version__}"),
      "total_seconds": total_seconds,
      "wall_seconds": time.time() - start,
      "configurations": {
          c.key: {"title": c.title, "settings": list(c.settings),
                  "train_data": _json_round_trip(
                      configurations_lib.build_config(preset, c)["data"]["train"]),
                  "test_sets": list(c.test_sets), "training": summaries[c.key]}
          for c in study_configurations},
      "results": results,
      "targets": targets.check_targets(results, study_configurations, total_seconds,
                                       preset.name),
  }


def publish(workdir, written, results_dir):
  """Copies the written report files to `results_dir`, keeping their relative paths."""
  for relative in written:
    destination = pathlib.Path(results_dir) / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pathlib.Path(workdir) / relative, destination)
  _log(f"published {len(written)} files to {results_dir}")
