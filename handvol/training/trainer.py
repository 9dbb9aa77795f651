"""`train_and_evaluate(config, workdir)`: the whole run, from data to `summary.json`.

Work directory layout:
- `config.json`: the configuration the run used;
- `backup/`: `keras.callbacks.BackupAndRestore` state (weights, optimizer, epoch); rerunning the
  same command after an interruption, SIGKILL included, resumes from the last finished epoch;
- `checkpoints/last.keras` (every epoch) and `checkpoints/best.keras` (lowest validation
  All-21 error); both are whole models that `keras.saving.load_model` reads back;
- `tensorboard/`: scalars per loss term, the learning rate, validation errors, and images of the
  predictions over the input (`images/`);
- `evaluation/`: `handvol.evaluation`'s report (metrics.json, metrics.md, plots) of the untrained
  and the trained model on the held-out test frames;
- `summary.json`: their All-21, Lab-6 and Unlab-15 mean errors, and the run's timings.
"""

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from handvol.evaluation import evaluate as evaluation
from handvol.hand import skeleton
from handvol.model import batch_norm
from handvol.model import hand_pose_model
from handvol.training import callbacks as training_callbacks
from handvol.training import data
from handvol.training import evaluate

KEYPOINT_SUBSETS = {"all": None, "lab6": skeleton.LAB6}
"""`loss.supervised_keypoints` names → the keypoints whose labels supervise training."""

STRATEGIES = ("default", "mirrored", "multi_worker")


def distribution_strategy(name):
  """The `tf.distribute` strategy named in the config: "default"; "mirrored" over this host's
  GPUs, else its logical CPUs; "multi_worker" over the hosts of `TF_CONFIG` (trained by
  `distributed.train_and_evaluate`: Keras' `fit` fails under it, docs/distributed.md)."""
  if name not in STRATEGIES:
    raise ValueError(f"train.strategy must be one of {STRATEGIES}, got {name!r}")
  if name == "mirrored":
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])
  if name == "multi_worker":
    return tf.distribute.MultiWorkerMirroredStrategy()
  return tf.distribute.get_strategy()


def build_model(config):
  """A `HandPoseModel` from the "model" and "loss" sections of a config."""
  loss = config["loss"]
  return hand_pose_model.HandPoseModel(
      encoder_width=config["model"]["encoder_width"],
      blocks_per_stage=config["model"]["blocks_per_stage"],
      head_config=config["model"]["head"],
      loss_weights=loss["weights"],
      slack_mm=loss["slack_mm"],
      supervised_keypoints=KEYPOINT_SUBSETS[loss["supervised_keypoints"]],
      use_visibility=loss["use_visibility"])


def learning_rate_schedule(train_config):
  """Linear warm-up to `learning_rate`, then cosine decay to `final_learning_rate`."""
  total_steps = train_config["epochs"] * train_config["steps_per_epoch"]
  warmup_steps = min(train_config["warmup_steps"], total_steps - 1)
  peak = train_config["learning_rate"]
  return keras.optimizers.schedules.CosineDecay(
      initial_learning_rate=peak * 1e-2, decay_steps=total_steps - warmup_steps,
      alpha=train_config["final_learning_rate"] / peak, warmup_target=peak,
      warmup_steps=warmup_steps)


def compile_model(model, config):
  """Compiles with Adam on the config's schedule (the losses live in the model)."""
  train_config = config["train"]
  optimizer = keras.optimizers.Adam(learning_rate_schedule(train_config),
                                    global_clipnorm=train_config["clip_norm"])
  model.compile(optimizer=optimizer, jit_compile="auto")


def _first_examples(dataset, count):
  """The first `count` examples of a finite batched dataset, as numpy.

  It reads the whole dataset, so that a `.cache()` in it is completed rather than discarded.
  """
  batches = [{key: np.asarray(value) for key, value in batch.items()} for batch in dataset]
  return {key: np.concatenate([batch[key] for batch in batches])[:count] for key in batches[0]}


def train_and_evaluate(config, workdir):
  """Trains the model of `config`, evaluates it on held-out frames, writes `summary.json`.

  Args:
    config: A nested dict (`handvol/configs/`).
    workdir: The work directory (created; reused to resume).

  Returns:
    The summary dict written to `workdir/summary.json`.
  """
  if config["train"]["strategy"] == "multi_worker":
    raise ValueError("train.strategy multi_worker runs distributed.train_and_evaluate")
  start = time.time()
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "config.json"), "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
  keras.utils.set_random_seed(config["seed"])
  strategy = distribution_strategy(config["train"]["strategy"])
  batch_size = config["data"]["batch_size"] * strategy.num_replicas_in_sync

  datasets = data.build_datasets(config["data"], batch_size, seed=config["seed"])
  data_seconds = time.time() - start

  with strategy.scope():
    model = build_model(config)
    model(_first_examples(datasets.validation, 1))  # BackupAndRestore needs a built model.
    if config["model"]["synchronized_batch_norm"]:
      batch_norm.synchronize(model)
    compile_model(model, config)
  untrained = evaluate.evaluate_model(model, datasets.test)

  train_config = config["train"]
  tensorboard_dir = os.path.join(workdir, "tensorboard")
  checkpoint_dir = os.path.join(workdir, "checkpoints")
  os.makedirs(checkpoint_dir, exist_ok=True)
  callbacks = [
      keras.callbacks.BackupAndRestore(os.path.join(workdir, "backup"),
                                       delete_checkpoint=False),
      keras.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, "last.keras")),
      keras.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, "best.keras"),
                                      monitor="val_all21_mm", mode="min",
                                      save_best_only=True),
      keras.callbacks.TensorBoard(tensorboard_dir, update_freq=train_config["log_every_steps"]),
      training_callbacks.PredictionImages(
          _first_examples(datasets.validation, train_config["num_images"]),
          os.path.join(tensorboard_dir, "images"), train_config["images_every_epochs"]),
  ]
  fit_start = time.time()
  model.fit(datasets.train, epochs=train_config["epochs"],
            steps_per_epoch=train_config["steps_per_epoch"],
            validation_data=datasets.validation, callbacks=callbacks,
            verbose=train_config["verbose"])
  fit_seconds = time.time() - fit_start

  trained = evaluate.evaluate_model(model, datasets.test)
  evaluation.write_report(os.path.join(workdir, "evaluation"),
                          {"untrained": untrained, "trained": trained}, evaluate.LAYOUT,
                          "held-out test frames")
  summary = {}
  for protocol in evaluate.PROTOCOLS:
    key = f"{protocol}_mean_mm"
    summary[f"{key}_untrained"] = untrained[key]
    summary[key] = trained[key]
  summary.update(
      frames=trained["num_frames"],
      improvement=untrained["all21_mean_mm"] / max(trained["all21_mean_mm"], 1e-9),
      epochs=train_config["epochs"],
      steps_per_epoch=train_config["steps_per_epoch"],
      data_seconds=round(data_seconds, 1),
      fit_seconds=round(fit_seconds, 1),
      total_seconds=round(time.time() - start, 1),
      replicas=strategy.num_replicas_in_sync)
  with open(os.path.join(workdir, "summary.json"), "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=2)
  print(json.dumps(summary))
  return summary
