"""The model, its optimizer, and training with Keras' `model.fit` (strategies "default" and
"mirrored"); `handvol.training.train.train_and_evaluate` runs it and does the bookkeeping.

What `fit` writes into the work directory, every file atomically (`handvol.data.atomic`) and
never with non-finite weights (`handvol.training.faults`):
- `backup/`: `keras.callbacks.BackupAndRestore` state (weights, optimizer, epoch); rerunning the
  same command after an interruption, SIGKILL or a full disk included, resumes from the last
  finished epoch;
- `checkpoints/last.keras` (every epoch) and `checkpoints/best.keras` (lowest validation
  All-21 error, recorded in `best.keras.json`); both are whole models that
  `handvol.model.hand_pose_model.load_checkpoint` reads back;
- `skip_log.txt`: the bad frames each reader source skipped (`input_pipeline.reader_records`);
- `nonfinite_batch.txt`: only after a non-finite step, the names of that batch's frames;
- `tensorboard/`: scalars per loss term, the learning rate, validation errors, and images of the
  predictions over the input (`images/`).
"""

import collections
import os
import time

import keras
import numpy as np
import tensorflow as tf

from handvol import pretrained
from handvol.configs import schema
from handvol.hand import skeleton
from handvol.model import batch_norm
from handvol.model import hand_pose_model
from handvol.training import callbacks as training_callbacks
from handvol.training import evaluate
from handvol.training import faults
from handvol.training import input_pipeline
from handvol.training import workdir as workdir_lib

KEYPOINT_SUBSETS = {"all": None, "lab6": skeleton.LAB6}
"""`loss.supervised_keypoints` names → the keypoints whose labels supervise training."""

STRATEGIES = ("default", "mirrored", "multi_worker")

Run = collections.namedtuple("Run", ["model", "test", "untrained", "facts"])
"""What a training path hands to the bookkeeping: the trained model, the batched test
examples, the untrained model's `evaluate.evaluate_model` result (None when the path does not
measure it) and the path's own facts for `summary.json` (timings, batch sizes)."""


def distribution_strategy(name):
  """The `tf.distribute` strategy named in the config: "default"; "mirrored" over this host's
  GPUs, else its logical CPUs; "multi_worker" over the hosts of `TF_CONFIG` (trained by
  `distributed.train`: Keras' `fit` fails under it, docs/distributed.md)."""
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


def peak_learning_rate(train_config):
  """The schedule's peak: `learning_rate` from scratch, `finetune_learning_rate` when the run
  starts from weights (`train.init` other than "scratch"): the default's scratch rate (3e-3)
  sends the shipped model's validation error to 70–75 mm in its first epochs
  (docs/training.md, "The default's schedule")."""
  init = train_config.get("init", schema.OPTIONAL["train.init"])
  if init == "scratch":
    return train_config["learning_rate"]
  return train_config.get("finetune_learning_rate",
                          schema.OPTIONAL["train.finetune_learning_rate"])


def learning_rate_schedule(train_config):
  """Linear warm-up to `peak_learning_rate`, then cosine decay to `final_learning_rate`."""
  total_steps = train_config["epochs"] * train_config["steps_per_epoch"]
  warmup_steps = min(train_config["warmup_steps"], total_steps - 1)
  peak = peak_learning_rate(train_config)
  return keras.optimizers.schedules.CosineDecay(
      initial_learning_rate=peak * 1e-2, decay_steps=total_steps - warmup_steps,
      alpha=train_config["final_learning_rate"] / peak, warmup_target=peak,
      warmup_steps=warmup_steps)


def compile_model(model, config):
  """Compiles with Adam on the config's schedule (the losses live in the model); Adam that
  never applies a non-finite gradient (`faults.GuardedAdam`)."""
  train_config = config["train"]
  optimizer = faults.GuardedAdam(learning_rate_schedule(train_config),
                                 global_clipnorm=train_config["clip_norm"])
  model.compile(optimizer=optimizer, jit_compile="auto")


def build_compiled_model(config, strategy, example, synchronized_batch_norm=False):
  """`build_model` and `compile_model` under `strategy`, built by a call on `example` (a
  batch of inputs), its weights those `train.init` names (`handvol.pretrained.initialize`);
  batch norm synchronised over the replicas on request."""
  with strategy.scope():
    model = build_model(config)
    model(example)
    # Fine-tuning: the weights `train.init` names (a resumed run's backup then overrides them).
    pretrained.initialize(model, config["train"].get("init", schema.OPTIONAL["train.init"]))
    if synchronized_batch_norm:
      batch_norm.synchronize(model)
    compile_model(model, config)
  return model


def first_examples(dataset, count):
  """The first `count` examples of a finite batched dataset, as numpy.

  It reads the whole dataset, so that a `.cache()` in it is completed rather than discarded.
  """
  batches = [{key: np.asarray(value) for key, value in batch.items()} for batch in dataset]
  return {key: np.concatenate([batch[key] for batch in batches])[:count] for key in batches[0]}


class PipelineStop(keras.callbacks.Callback):
  """Raises, at the next batch or epoch end, the error a training source recorded in its skip
  log (`input_pipeline.reader_records`: over the bad-frame budget); first among the callbacks
  so that nothing of the epoch is saved.

  Args:
    skip_logs: The dict source name → `records.SkipLog` of `input_pipeline.build_datasets`.
  """

  def __init__(self, skip_logs):
    super().__init__()
    self.skip_logs = skip_logs

  def on_train_batch_end(self, batch, logs=None):
    # Stopping, then raising at the epoch's end, lets Keras wind its input iterator down;
    # raising here leaves a reader's generator thread that hangs the process at exit.
    if any(log.error is not None for log in self.skip_logs.values()):
      self.model.stop_training = True

  def on_epoch_end(self, epoch, logs=None):
    raise_pipeline_error(self.skip_logs)


def fit_callbacks(workdir, train_config, validation, skip_logs=None, frames=None):
  """The input and NaN stops (the latter naming the batch's frames when `frames`, the
  `input_pipeline.TrainingFrames` of the training data, is given), backup, the two
  checkpoints, TensorBoard and the prediction images (module docstring)."""
  tensorboard_dir = os.path.join(workdir, "tensorboard")
  checkpoint_dir = os.path.join(workdir, "checkpoints")
  os.makedirs(checkpoint_dir, exist_ok=True)
  return [
      PipelineStop(skip_logs or {}),
      faults.NonFiniteStop(train_config["steps_per_epoch"], frames,
                           os.path.join(workdir, "nonfinite_batch.txt")),
      faults.AtomicBackup(os.path.join(workdir, "backup")),
      faults.AtomicCheckpoint(os.path.join(checkpoint_dir, "last.keras")),
      faults.AtomicCheckpoint(os.path.join(checkpoint_dir, "best.keras"),
                              monitor="val_all21_mm"),
      keras.callbacks.TensorBoard(tensorboard_dir, update_freq=train_config["log_every_steps"]),
      training_callbacks.PredictionImages(
          first_examples(validation, train_config["num_images"]),
          os.path.join(tensorboard_dir, "images"), train_config["images_every_epochs"]),
  ]


def fit(config, workdir, strategy):
  """Trains `config`'s model with `model.fit` under a one-host strategy, resuming if possible.

  Args:
    config: A nested config dict (`handvol/configs/`).
    workdir: The work directory (module docstring).
    strategy: The default or a `MirroredStrategy`; "data.batch_size" is per replica.

  Returns:
    A `Run`; its facts are "data_seconds", "fit_seconds", "replicas" and "skipped_frames".

  Raises:
    faults.RunError: a non-finite step (`faults.NonFiniteStop`), a source over its bad-frame
      budget (`skip_log.txt` lists the frames), an unreadable backup.
  """
  start = time.time()
  batch_size = config["data"]["batch_size"] * strategy.num_replicas_in_sync
  skip_logs = {}
  datasets = input_pipeline.build_datasets(config["data"], batch_size, seed=config["seed"],
                                           skip_logs=skip_logs)
  data_seconds = time.time() - start
  # BackupAndRestore needs a built model.
  model = build_compiled_model(config, strategy, first_examples(datasets.validation, 1),
                               config["model"]["synchronized_batch_norm"])
  untrained = evaluate.evaluate_model(model, datasets.test)
  train_config = config["train"]
  fit_start = time.time()
  try:
    model.fit(datasets.train, epochs=train_config["epochs"],
              steps_per_epoch=train_config["steps_per_epoch"],
              validation_data=datasets.validation,
              callbacks=fit_callbacks(workdir, train_config, datasets.validation, skip_logs,
                                      datasets.frames),
              verbose=train_config["verbose"])
    raise_pipeline_error(skip_logs)  # Had the training data ended before any callback ran.
  finally:
    skipped = workdir_lib.write_skip_log(workdir, skip_logs)
  facts = {"data_seconds": round(data_seconds, 1),
           "fit_seconds": round(time.time() - fit_start, 1),
           "replicas": strategy.num_replicas_in_sync, "skipped_frames": skipped}
  return Run(model, datasets.test, untrained, facts)


def raise_pipeline_error(skip_logs):
  """Raises the error a training source recorded in its skip log; nothing when there is none."""
  for log in skip_logs.values():
    if log.error is not None:
      raise log.error from None
