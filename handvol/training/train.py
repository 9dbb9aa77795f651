"""`train_and_evaluate(config, workdir)`: the whole run, from data to `summary.json`, for every
strategy of `train.strategy`.

"default" and "mirrored" train with Keras' `model.fit` (`trainer.fit`), "multi_worker" with the
custom loop of `distributed.train` (Keras' `fit` fails under `MultiWorkerMirroredStrategy`).
Either way, this module does the run's bookkeeping; the chief task writes into the work
directory (each file atomically, `handvol.data.atomic`):
- `config.json`: the configuration the run used; a rerun with another one is refused, naming
  the keys that differ (`handvol.training.workdir`);
- `evaluation/`: `handvol.evaluation`'s report (metrics.json, metrics.md, plots) of the trained
  model, beside the untrained one where the path measured it (`model.fit`), on the held-out
  test frames;
- `summary.json`: their All-21, Lab-6 and Unlab-15 mean errors, and the run's facts (timings,
  replicas, batch sizes).
What else each path writes (checkpoints, backups, TensorBoard logs) its module says.
"""

import json
import os
import time

import keras
import tensorflow as tf

from handvol import configs
from handvol.data import atomic
from handvol.data import synthetic
from handvol.evaluation import evaluate as evaluation
from handvol.model import head
from handvol.training import distributed
from handvol.training import evaluate
from handvol.training import input_pipeline
from handvol.training import trainer
from handvol.training import workdir as workdir_lib


def config_choices():
  """The allowed names of the config keys that take one, from the code that owns them."""
  return {"train.strategy": trainer.STRATEGIES,
          "loss.supervised_keypoints": tuple(trainer.KEYPOINT_SUBSETS),
          "model.head.articulation": head.ARTICULATION_MAPS,
          "data.*.subjects": tuple(synthetic.SUBJECT_SETS),
          "data.*.label_mode": synthetic.LABEL_MODES}


def validate_config(config, allow_missing=False):
  """`configs.validate` with `config_choices`; raises `configs.ConfigError` naming the key."""
  return configs.validate(config, config_choices(), allow_missing)


def train_and_evaluate(config, workdir, strategy=None, overwrite=False):
  """Trains the model of `config`, evaluates it on held-out frames, writes `summary.json`.

  Args:
    config: A nested dict (`handvol/configs/`), checked against the schema first.
    workdir: The work directory (created; reused to resume; shared by all workers).
    strategy: Optional `tf.distribute.Strategy`; by default the one `train.strategy` names
      (`trainer.distribution_strategy`). A `MultiWorkerMirroredStrategy` trains with the
      custom loop, any other with `model.fit`.
    overwrite: Remove a previous run's files from `workdir` and start afresh (otherwise a
      rerun with the same config resumes, one with another config is refused).

  Returns:
    The summary dict written to `workdir/summary.json` (on other workers than the chief, their
    training facts, written nowhere).

  Raises:
    configs.ConfigError, faults.RunError, records.FrameError: one line naming the key, file,
      frame or step (`faults.USER_ERRORS`).
  """
  start = time.time()
  validate_config(config)
  strategy = strategy or trainer.distribution_strategy(config["train"]["strategy"])
  chief = distributed.is_chief(strategy)
  workdir_lib.prepare(workdir, config, overwrite=overwrite, write=chief)
  keras.utils.set_random_seed(config["seed"])
  if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
    run = _train_multi_worker(config, workdir, strategy, chief)
  else:
    run = trainer.fit(config, workdir, strategy)
  if not chief:
    return run.facts
  summary = _evaluate(run, workdir)
  summary.update(epochs=config["train"]["epochs"],
                 steps_per_epoch=config["train"]["steps_per_epoch"], **run.facts,
                 total_seconds=round(time.time() - start, 1))
  atomic.write_json(os.path.join(workdir, "summary.json"), summary)
  print(json.dumps(summary), flush=True)
  return summary


def _train_multi_worker(config, workdir, strategy, chief):
  """`distributed.train` as a `trainer.Run`; only the chief builds the test set."""
  result = distributed.train(config, workdir, strategy,
                             synchronized_batch_norm=config["model"]["synchronized_batch_norm"])
  facts = {key: value for key, value in result.items() if key != "model"}
  test = input_pipeline.evaluation_split(config["data"], "test") if chief else None
  return trainer.Run(result["model"], test, None, facts)


def _evaluate(run, workdir):
  """Evaluates the trained model on the test frames, writes the report, and returns the
  summary's errors: "<protocol>_mean_mm" (and "<protocol>_mean_mm_untrained" and the All-21
  "improvement" where the untrained model was measured) and "frames"."""
  trained = evaluate.evaluate_model(run.model, run.test)
  results = {"trained": trained}
  if run.untrained is not None:
    results = {"untrained": run.untrained, **results}
  with atomic.atomic_folder_files(os.path.join(workdir, "evaluation")) as folder:
    evaluation.write_report(folder, results, evaluate.LAYOUT, "held-out test frames")
  summary = {}
  for protocol in evaluate.PROTOCOLS:
    key = f"{protocol}_mean_mm"
    if run.untrained is not None:
      summary[f"{key}_untrained"] = run.untrained[key]
    summary[key] = trained[key]
  summary["frames"] = trained["num_frames"]
  if run.untrained is not None:
    summary["improvement"] = (run.untrained["all21_mean_mm"]
                              / max(trained["all21_mean_mm"], 1e-9))
  return summary

