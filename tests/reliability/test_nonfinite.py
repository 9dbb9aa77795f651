"""NaN and Inf are stopped: in training (the command), in checkpoints, in exports, in serving."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol import training
from handvol.data import capture
from handvol.export import export
from handvol.export import serving
from handvol.model import hand_pose_model
from handvol.training import faults
from handvol.training import input_pipeline


def _poisoned_model(run):
  """The run's last checkpoint with one weight of the pose head set to NaN."""
  model = hand_pose_model.load_checkpoint(str(run / "checkpoints" / "last.keras"))
  kernel = [w for w in model.weights if w.path.endswith("kernel")][-1]
  values = np.array(kernel.numpy())
  values.flat[0] = np.nan
  kernel.assign(values)
  return model, kernel.path


def test_nan_loss_stops_train_py_at_once_naming_step_and_term(tmp_path, tools):
  workdir = tmp_path / "run"
  # Valid values whose weighted sum overflows float32 at the first step.
  run = tools.run(tools.train_command(workdir, "loss.weights.joint=1e38",
                                                    "train.epochs=3"), tmp_path)
  assert run.returncode == 1, run.stderr[-2000:]
  message = tools.last_line(run.stderr)
  assert message.startswith("train.py: error: training stopped at step 1 (epoch 1, batch 1)")
  assert "the weighted total loss went NaN or Inf" in message and "loss.weights" in message
  # The batch's frames: the first three in the line, all four (batch 4) in a file.
  listed = (workdir / "nonfinite_batch.txt").read_text(encoding="utf-8").splitlines()
  assert len(listed) == 4 and len(set(listed)) == 4
  assert all(re.fullmatch(r"data.train.0 synthetic frame [0-7] of 8 \(seed \d+\)", name)
             for name in listed), listed
  assert (f"The batch's 4 frames: {'; '.join(listed[:3])} and 1 more (all 4 in "
          f"{workdir / 'nonfinite_batch.txt'})") in message
  assert "Traceback" not in run.stderr
  assert "Epoch 2/3" not in run.stdout
  assert not list((workdir / "checkpoints").glob("*.keras"))
  assert not (workdir / "backup").exists()


def _numbered(make_records, count, dataset, first_subject):
  """Hand-like records whose "subject" numbers them, so that a batch says which they are."""
  frames = make_records(count, dataset, seed=first_subject)
  v, u = np.mgrid[0:48, 0:64]
  for number, frame in enumerate(frames):
    frame["depth"] = np.where((u - 32)**2 + (v - 24)**2 < 300, 500.0 + u, 0.0).astype(np.float32)
    frame["subject"] = np.int32(first_subject + number)
  return frames


def test_training_frames_name_the_examples_of_every_batch_over_passes(make_records):
  # Two sources 1 : 1, batch 4: three batches per pass of six frames; five batches cross two
  # passes, where each source is reshuffled.
  sources = [_numbered(make_records, 6, "nyu", 0), _numbered(make_records, 6, "capture", 100)]
  config = input_pipeline.PipelineConfig(batch_size=4, max_gaussians=64, shuffle_buffer=6)
  frames = input_pipeline.TrainingFrames([lambda i: f"a{i}", lambda i: f"b{i}"])
  named = list(input_pipeline.training_dataset(
      [input_pipeline.from_records(s) for s in sources], config=config, frames=frames)
               .take(5).as_numpy_iterator())
  plain = list(input_pipeline.training_dataset(
      [input_pipeline.from_records(s) for s in sources], config=config).take(5)
               .as_numpy_iterator())
  for index, (batch, same) in enumerate(zip(named, plain)):
    subjects = batch["subject"].tolist()
    assert frames.names(index) == [f"a{s}" for s in subjects[:2]] + [
        f"b{s - 100}" for s in subjects[2:]], index
    assert input_pipeline.FRAME_KEY not in batch
    for key in same:  # Recording the frames changes no batch.
      np.testing.assert_array_equal(batch[key], same[key], err_msg=key)
  assert frames.names(99) == []


def test_a_nonfinite_step_names_the_reader_frames_of_its_batch(tmp_path, make_records, tools):
  folder = tmp_path / "captures"
  capture.write_frames(folder, make_records(8, "capture"))
  config = tools.tiny_config(
      f"data.train=[{{'source': 'capture', 'args': {{'root': '{folder}'}}, 'ratio': 1}}]",
      "loss.weights.joint=1e38")
  workdir = tmp_path / "run"
  with pytest.raises(faults.NonFiniteError, match=r"^training stopped at step 1 ") as caught:
    training.train_and_evaluate(config, str(workdir))
  listed = (workdir / "nonfinite_batch.txt").read_text(encoding="utf-8").splitlines()
  annotations = folder / capture.ANNOTATION_FILE
  pattern = rf"{re.escape(str(annotations))}: frame ([0-7]) \(depth/00000\1.png\)"
  assert len(listed) == 4 and all(re.fullmatch(pattern, name) for name in listed), listed
  assert len(set(listed)) == 4
  assert f"The batch's 4 frames: {'; '.join(listed[:3])} and 1 more" in str(caught.value)


def test_checkpoint_and_backup_refuse_nonfinite_weights(trained_run, tmp_path):
  model, weight = _poisoned_model(trained_run)
  path = tmp_path / "checkpoints" / "last.keras"
  checkpoint = faults.AtomicCheckpoint(str(path))
  checkpoint.set_model(model)
  with pytest.raises(faults.NonFiniteError, match=rf"last.keras \(epoch 3\): not written.*"
                     rf"NaN or Inf \(first: {weight}\)"):
    checkpoint.on_epoch_end(2, {})
  backup = faults.AtomicBackup(str(tmp_path / "backup"))
  backup.set_model(model)
  with pytest.raises(faults.NonFiniteError, match="latest.weights.h5 .*not written"):
    backup.on_epoch_end(2, {})
  assert not path.exists() and not (tmp_path / "backup" / "latest.weights.h5").exists()


def test_export_refuses_nonfinite_weights(trained_run, tmp_path):
  model, weight = _poisoned_model(trained_run)
  with pytest.raises(ValueError, match=rf"best.keras: the model's weights hold NaN or Inf "
                     rf"\(first: {weight}\)"):
    export.export_model(model, str(tmp_path), "handvol", 1, checkpoint="best.keras")
  assert not (tmp_path / "handvol" / "1").exists()


def test_serving_is_never_valid_beside_nonfinite_joints(trained_run):
  model, _ = _poisoned_model(trained_run)
  depth = np.zeros([2, 120, 160], np.float32)
  depth[:, 40:80, 60:100] = 500.0  # A measured blob: valid as far as the input goes.
  outputs = serving.predict_frames(model, depth, np.ones([2], np.float32),
                                   np.tile(np.float32([200.0, 200.0, 80.0, 60.0]), (2, 1)),
                                   np.zeros([2, 3], np.float32), np.zeros([2], np.float32))
  assert outputs["valid"].numpy().tolist() == [0, 0]
  for key in ("joints_xyz", "joints_uvd", "theta", "bone_lengths"):
    assert np.all(outputs[key].numpy() == 0.0), key


def test_a_nonfinite_gradient_is_never_applied_and_stops_the_run():
  optimizer = faults.GuardedAdam(learning_rate=0.1)
  weights = keras.Variable(np.ones(3, np.float32))
  optimizer.apply([tf.constant([np.nan, 1.0, 1.0])], [weights])
  assert weights.numpy().tolist() == [1.0, 1.0, 1.0]
  assert int(optimizer.nonfinite_steps.numpy()) == 1
  optimizer.apply([tf.constant([1.0, 1.0, 1.0])], [weights])
  assert np.all(weights.numpy() < 1.0)  # Finite gradients still train.
  model = keras.Sequential([keras.Input([3]), keras.layers.Dense(1)])
  model.compile(optimizer=faults.GuardedAdam())
  model.optimizer.build(model.trainable_variables)
  stop = faults.NonFiniteStop(steps_per_epoch=10)
  stop.set_model(model)
  stop.on_epoch_begin(2)
  stop.on_train_batch_end(4, {"loss": 0.5, "joint_loss": 0.1})  # All finite: goes on.
  model.optimizer.nonfinite_steps.assign(1)
  with pytest.raises(faults.NonFiniteError, match=r"^training stopped at step 25 \(epoch 3, "
                     r"batch 5\): the gradient went NaN or Inf while the loss was finite"):
    stop.on_train_batch_end(4, {"loss": 0.5, "joint_loss": 0.1})


class LastBatchModel(keras.Model):
  """Remembers the first value of the last training batch it stepped on."""

  def __init__(self):
    super().__init__()
    self.dense = keras.layers.Dense(1)
    self.last = tf.Variable(-1.0, trainable=False)

  def call(self, x):
    return self.dense(x)

  def train_step(self, data):
    self.last.assign(data[0][0, 0])
    return super().train_step(data)


def test_fit_consumes_the_training_batches_in_the_order_they_are_made():
  # `NonFiniteStop` names batch k of `TrainingFrames` at the k-th step of a `fit`: that holds
  # while Keras keeps one iterator over the epochs of an endless dataset (steps_per_epoch set).
  batches = tf.data.Dataset.range(10**6).map(
      lambda i: (tf.fill([2, 1], tf.cast(i, tf.float32)), tf.zeros([2, 1]))).prefetch(8)
  model = LastBatchModel()
  model.compile(optimizer="sgd", loss="mse")
  seen = []

  class Record(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
      seen.append(float(model.last.numpy()))

  model.fit(batches, epochs=3, steps_per_epoch=4, verbose=0, callbacks=[Record()],
            validation_data=batches.take(2))
  assert seen == [float(k) for k in range(12)]
