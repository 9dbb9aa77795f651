"""Baseline: the same encoder regressing the 21 joints directly (no hand model), same data and budget.

    python scripts/direct_regression_baseline.py --workdir=DIR [--config=default] [--set=...]

Builds the config's datasets with the training input pipeline (same frames, augmentation, batch
size, schedule and steps), the config's `ResNetEncoder` with 63 outputs o, and keypoints
x_j = c + h·o_j (c the crop's reference point, h half the crop cube, as the pose head's
translation), trained with the mean squared 3D distance to the 3D labels (those of
`loss.supervised_keypoints`; set `data.train.0.label_mode=all21_3d --set
loss.supervised_keypoints=all` for a fully supervised baseline). Prints All-21 / Lab-6 /
Unlab-15 on the test split, writes `DIR/summary.json` and TensorBoard scalars like `train.py`
(`scripts/plot_learning_curves.py` draws them). The comparison tells whether the hand model's
parameterisation or the encoder and its training limit accuracy (`docs/training.md`).
"""

import json
import os
import time

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf

from handvol import configs
from handvol.data import records
from handvol.evaluation import metrics
from handvol.hand import skeleton
from handvol.model import encoder as encoder_lib
from handvol.training import input_pipeline
from handvol.training import trainer

_CONFIG = flags.DEFINE_string("config", "default", "A config in handvol/configs or a .py file.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder.", required=True)
_SET = flags.DEFINE_multi_string("set", [], "Config override key.sub=value (repeatable).")


class DirectRegression(keras.Model):
  """Encoder → 21 keypoints `[B, 21, 3]` mm = reference point + h · outputs."""

  def __init__(self, config, **kwargs):
    super().__init__(**kwargs)
    self.encoder = encoder_lib.ResNetEncoder(3 * skeleton.NUM_KEYPOINTS,
                                             config["model"]["encoder_width"],
                                             config["model"]["blocks_per_stage"])
    self.scale_mm = config["data"]["cube_mm"] / 2.0
    subset = trainer.KEYPOINT_SUBSETS[config["loss"]["supervised_keypoints"]]
    mask = np.zeros(skeleton.NUM_KEYPOINTS, np.float32)
    mask[list(range(skeleton.NUM_KEYPOINTS)) if subset is None else list(subset)] = 1.0
    self.supervised = tf.constant(mask)
    self.error_tracker = keras.metrics.Mean(name="all21_mm")

  def call(self, inputs, training=None):
    outputs = self.encoder(inputs["depth_input"], training=training)
    offsets = tf.reshape(outputs, [-1, skeleton.NUM_KEYPOINTS, 3])
    return inputs["center_xyz"][:, tf.newaxis, :] + self.scale_mm * offsets

  def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
    del y, sample_weight, training
    weight = tf.cast(x["kind"] == records.KIND_3D, tf.float32) * self.supervised
    squared = tf.reduce_sum(tf.square(y_pred - x["xyz"]), axis=-1)
    loss = tf.reduce_sum(weight * squared) / tf.maximum(tf.reduce_sum(weight), 1.0)
    errors = tf.reduce_mean(tf.norm(y_pred - x["truth_xyz"], axis=-1), axis=-1)
    self.error_tracker.update_state(errors, sample_weight=tf.cast(x["has_truth"], tf.float32))
    return loss * 1e-3  # mm² → the keypoint term's scale in the hand model (weight 1e-3)


def _test_errors(model, dataset):
  predicted, truth = [], []
  for batch in dataset:
    keep = batch["has_truth"].numpy() > 0
    predicted.append(model(batch, training=False).numpy()[keep])
    truth.append(batch["truth_xyz"].numpy()[keep])
  errors = metrics.joint_errors(np.concatenate(predicted), np.concatenate(truth))
  return {"all21_mean_mm": metrics.mean_error(errors),
          "lab6_mean_mm": metrics.mean_error(errors, skeleton.LAB6),
          "unlab15_mean_mm": metrics.mean_error(errors, skeleton.UNLAB15)}


def main(argv):
  del argv
  config = configs.override(configs.load(_CONFIG.value), _SET.value)
  keras.utils.set_random_seed(config["seed"])
  start = time.time()
  datasets = input_pipeline.build_datasets(config["data"], config["data"]["batch_size"],
                                           config["seed"])
  model = DirectRegression(config)
  model(next(iter(datasets.validation)))
  train = config["train"]
  model.compile(optimizer=keras.optimizers.Adam(trainer.learning_rate_schedule(train),
                                                global_clipnorm=train["clip_norm"]))
  os.makedirs(_WORKDIR.value, exist_ok=True)
  model.fit(datasets.train, epochs=train["epochs"], steps_per_epoch=train["steps_per_epoch"],
            validation_data=datasets.validation, verbose=train["verbose"],
            callbacks=[keras.callbacks.TensorBoard(os.path.join(_WORKDIR.value, "tensorboard"))])
  summary = dict(_test_errors(model, datasets.test), total_seconds=round(time.time() - start, 1))
  with open(os.path.join(_WORKDIR.value, "config.json"), "w", encoding="utf-8") as f:
    json.dump(config, f, indent=1)
  with open(os.path.join(_WORKDIR.value, "summary.json"), "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=1)
  print(json.dumps(summary))


if __name__ == "__main__":
  app.run(main)
