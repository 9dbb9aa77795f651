"""NaN and Inf are stopped: in training (the command), in checkpoints, in exports, in serving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from handvol.export import export
from handvol.export import serving
from handvol.model import hand_pose_model
from handvol.training import faults


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
  assert "Traceback" not in run.stderr
  assert "Epoch 2/3" not in run.stdout
  assert not list((workdir / "checkpoints").glob("*.keras"))
  assert not (workdir / "backup").exists()


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
