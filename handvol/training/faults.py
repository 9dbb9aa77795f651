"""Faults during training: the errors a run stops with, and the guards that keep a run's files
good.

- `GuardedAdam` never applies a gradient that holds NaN or Inf (it applies zeros instead and
  counts the step), so the weights stay finite whatever a batch does;
- `NonFiniteStop` stops `model.fit` at the first step whose loss, loss term or gradient is not
  finite, naming the step and the term(s) that went first; nothing of that epoch is saved;
- `AtomicBackup` (Keras' `BackupAndRestore`) and `AtomicCheckpoint` (the `.keras` checkpoints)
  refuse to save non-finite weights, write under a temporary name and rename
  (`handvol.data.atomic`), check the free space first, and name an unreadable file on resume.

Every error a user should read as one line derives from `RunError` or is one of
`USER_ERRORS`; `train.py` and `eval.py` print those without a traceback.
"""

import json
import math
import os

import keras
import numpy as np
import tensorflow as tf

from handvol.configs import schema
from handvol.data import atomic
from handvol.data import records


class RunError(RuntimeError):
  """A run that cannot go on; the message says where and what to do."""


class NonFiniteError(RunError):
  """A loss, loss term, gradient or weight became NaN or Inf."""


class CorruptFileError(RunError):
  """A file of the work directory cannot be read back."""


class WorkdirMismatchError(RunError):
  """A work directory holds a run of another configuration."""


class BadFramesError(RunError):
  """A training source holds more bad frames than the budget, or none that is usable."""


USER_ERRORS = (RunError, schema.ConfigError, records.FrameError, atomic.DiskFullError,
               FileNotFoundError, FileExistsError)
"""The errors an entry point reports in one line (no traceback)."""

STATE_OVERHEAD = 1.5
"""A backup or checkpoint holds the weights, Adam's two moments and metadata: its size is
estimated as this times the bytes of the model's and optimizer's variables, plus 1 MiB."""


def nonfinite_variables(variables):
  """The paths of the variables that hold NaN or Inf."""
  return [variable.path for variable in variables
          if not np.all(np.isfinite(keras.ops.convert_to_numpy(variable.value)))]


def state_bytes(model):
  """An estimate of the bytes a backup or checkpoint of `model` takes (`STATE_OVERHEAD`)."""
  variables = list(model.variables)
  if model.optimizer is not None:
    variables += list(model.optimizer.variables)
  total = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables)
  return int(total * STATE_OVERHEAD) + atomic.MIB


def check_finite_weights(model, what):
  """Raises `NonFiniteError` when a weight of `model` is not finite; `what` says what was
  about to be written."""
  bad = nonfinite_variables(model.weights)
  if bad:
    raise NonFiniteError(f"{what}: not written, {len(bad)} weight(s) hold NaN or Inf "
                         f"(first: {bad[0]})")


@keras.saving.register_keras_serializable(package="handvol")
class GuardedAdam(keras.optimizers.Adam):
  """Adam that never applies a non-finite gradient.

  A step whose gradients hold any NaN or Inf (on this replica) applies zero gradients instead
  and adds one to `nonfinite_steps`, which `NonFiniteStop` reads to stop the run at that step.
  Arguments are those of `keras.optimizers.Adam`.
  """

  def build(self, variables):
    if self.built:
      return
    super().build(variables)
    self.nonfinite_steps = self.add_variable(shape=(), initializer="zeros", dtype="int64",
                                             name="nonfinite_steps",
                                             aggregation="only_first_replica")

  def apply(self, grads, trainable_variables=None):
    present = [g for g in grads if g is not None]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in present])
    grads = [g if g is None else tf.where(finite, g, tf.zeros_like(g)) for g in grads]
    super().apply(grads, trainable_variables)
    self.nonfinite_steps.assign_add(tf.cast(tf.logical_not(finite), "int64"))


def nonfinite_logs(logs):
  """The names of the entries of Keras' `logs` (loss, `<term>_loss`) that are NaN or Inf."""
  bad = []
  for name, value in (logs or {}).items():
    value = np.asarray(value, np.float64)
    if value.size == 1 and not math.isfinite(float(value)):
      bad.append(name)
  return bad


SHOWN_FRAMES = 3
"""Frames of the failing batch named in the one-line error (all of them go to a file)."""


def nonfinite_message(step, epoch, batch, bad_logs, gradient, frames=(), frames_path=None):
  """The one line `NonFiniteError` says: the step (1-based, of the run), the term(s) that
  went first, the batch's frames (the first `SHOWN_FRAMES` of `frames`, and `frames_path`
  that lists them all) and what to check."""
  terms = [name for name in bad_logs if name != "loss"]
  if terms:
    what = f"the loss term(s) {', '.join(terms)} went NaN or Inf first"
  elif bad_logs:
    what = ("the weighted total loss went NaN or Inf while every term was finite (a loss "
            "weight too large?)")
  else:
    what = "the gradient went NaN or Inf while the loss was finite"
  if gradient and bad_logs:
    what += "; that step's gradient was not applied"
  if frames:
    shown = "; ".join(frames[:SHOWN_FRAMES])
    more = len(frames) - SHOWN_FRAMES
    where = f" (all {len(frames)} in {frames_path})" if frames_path else ""
    what += (f". The batch's {len(frames)} frames: {shown}"
             + (f" and {more} more{where}" if more > 0 else where))
  return (f"training stopped at step {step} (epoch {epoch + 1}, batch {batch + 1}): {what}. "
          "Nothing of this epoch was saved; the backup, if any, keeps the last finished epoch. "
          "Check train.learning_rate, loss.weights and the labels' units (mm)")


class NonFiniteStop(keras.callbacks.Callback):
  """Stops `model.fit` at the first step whose loss, loss term or gradient is not finite.

  Keras' running means in `logs` stay finite until a batch is not, so the names found
  non-finite at that step are the terms that went first. Raises `NonFiniteError`.

  Args:
    steps_per_epoch: Steps per epoch, to number the steps of the whole run.
    frames: Optional `input_pipeline.TrainingFrames` of the training dataset, to name the
      failing batch's frames (Keras consumes the batches in the order they are made, one
      iterator for the whole `fit`).
    frames_path: Where the failing batch's frame names are written, one per line (with
      `frames`).
  """

  def __init__(self, steps_per_epoch, frames=None, frames_path=None):
    super().__init__()
    self.steps_per_epoch = int(steps_per_epoch)
    self.frames = frames
    self.frames_path = frames_path
    self.epoch = 0
    self.seen_nonfinite = 0
    self.batches = 0  # Training batches consumed by this `fit`.

  def on_epoch_begin(self, epoch, logs=None):
    self.epoch = epoch

  def on_train_batch_end(self, batch, logs=None):
    self.batches += 1
    counter = getattr(self.model.optimizer, "nonfinite_steps", None)
    count = 0 if counter is None else int(keras.ops.convert_to_numpy(counter.value))
    bad = nonfinite_logs(logs)
    if bad or count > self.seen_nonfinite:
      step = self.epoch * self.steps_per_epoch + batch + 1
      names = self.frames.names(self.batches - 1) if self.frames is not None else []
      path = None
      if names and self.frames_path:
        atomic.write_text(self.frames_path, "".join(f"{name}\n" for name in names))
        path = self.frames_path
      raise NonFiniteError(nonfinite_message(step, self.epoch, batch, bad,
                                             count > self.seen_nonfinite, names, path))


def _corrupt(path, error, backup_dir):
  detail = str(error).splitlines()[0] if str(error) else type(error).__name__
  return CorruptFileError(
      f"{path}: this run's backup cannot be read back ({type(error).__name__}: {detail}); "
      f"delete {backup_dir} to resume from the start of training, or rerun with --overwrite")


class AtomicBackup(keras.callbacks.BackupAndRestore):
  """`BackupAndRestore` whose weights and epoch are each written atomically, never with
  non-finite weights, after a free-space check; an unreadable backup is named on resume.

  Args:
    backup_dir: The backup folder (`latest.weights.h5`, `training_metadata.json`).
  """

  def __init__(self, backup_dir):
    super().__init__(backup_dir, delete_checkpoint=False)

  def _load_model(self):
    try:
      super()._load_model()
    except json.JSONDecodeError as error:
      raise _corrupt(self._training_metadata_path, error, self.backup_dir) from None
    except (OSError, ValueError, KeyError) as error:
      raise _corrupt(self._weights_path, error, self.backup_dir) from None

  def _save_model(self):
    check_finite_weights(self.model, f"{self._weights_path} (epoch {self._current_epoch})")
    with atomic.atomic_path(self._weights_path, state_bytes(self.model),
                            suffix=".weights.h5") as temp:
      self.model.save_weights(temp, overwrite=True)
    atomic.write_json(self._training_metadata_path,
                      {"epoch": self._current_epoch, "batch": self._last_batch_seen})


class AtomicCheckpoint(keras.callbacks.Callback):
  """Saves the whole model as a `.keras` file after every epoch (or only when `monitor`
  improved), atomically, never with non-finite weights, after a free-space check.

  With `monitor`, the best value and its epoch go to `<path>.json` beside the checkpoint, so
  that a resumed run keeps comparing against the best of the epochs before the interruption.

  Args:
    path: The checkpoint's path (ends with ".keras").
    monitor: Optional key of the epoch's logs to minimise (e.g. "val_all21_mm").
  """

  def __init__(self, path, monitor=None):
    super().__init__()
    self.path = path
    self.monitor = monitor
    self.best = math.inf

  def on_train_begin(self, logs=None):
    record = f"{self.path}.json"
    if self.monitor and os.path.isfile(record):
      try:
        with open(record, encoding="utf-8") as f:
          self.best = float(json.load(f)[self.monitor])
      except (OSError, ValueError, KeyError) as error:
        raise CorruptFileError(f"{record}: cannot be read ({error}); delete it to let the "
                               "next epoch become the best checkpoint") from None

  def on_epoch_end(self, epoch, logs=None):
    value = None
    if self.monitor:
      value = float((logs or {}).get(self.monitor, math.nan))
      if not math.isfinite(value) or value >= self.best:
        return
    check_finite_weights(self.model, f"{self.path} (epoch {epoch + 1})")
    with atomic.atomic_path(self.path, state_bytes(self.model), suffix=".keras") as temp:
      self.model.save(temp)
    if self.monitor:
      self.best = value
      atomic.write_json(f"{self.path}.json", {"epoch": epoch + 1, self.monitor: value})
