"""The pose network that ships inside handvol: predict without training, fine-tune from it.

The shipped model is a training work directory in miniature, `WORKDIR`: the run's
`config.json` and `checkpoints/best.keras` (the weights without the optimizer's state, 3 MB,
float32); `RUNS` are the shipped runs, of which `NAME` is the default. Every tool that takes a
work directory or a checkpoint takes it as they are
(`eval.py --workdir`, `export.cube_from_workdir`); `MODEL_CARD` (`docs/pretrained.md`) says how
it was trained and what it measures. Nothing is downloaded.

    import handvol
    model = handvol.load_pretrained()   # a HandPoseModel; model({"depth_input", "center_xyz"})

Beside it ships the localiser's centre refiner (`handvol.model.centre_refiner`, trained by
`handvol.training.centre_refiner`): `CENTRE_REFINER_DIR` holds its weights and the run's
`summary.json`; `load_centre_refiner()` loads it, and the serving graph uses it by default.
"""

import functools
import json
import os

import keras
import numpy as np
import tensorflow as tf

from handvol.configs import schema
from handvol.model import hand_pose_model

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = ("scenes", "sphere_cpu_long")
"""The shipped runs, each a work directory in miniature beside this file, by name:
"sphere_cpu_long" is `python train.py --config=cpu_long` (issue 17's two-hour CPU budget), and
"scenes" is `python train.py --config=scenes`, that run fine-tuned on scenes of a person and on
200 hand shapes (`docs/results/scenes/`)."""
NAME = "scenes"
"""The run that `load_pretrained` and `train.init` "pretrained" mean."""


def run_checkpoint(name):
  """The best checkpoint of the shipped run `name` (`RUNS`)."""
  return os.path.join(HERE, name, "checkpoints", "best.keras")


WORKDIR = os.path.join(HERE, NAME)
CHECKPOINT = run_checkpoint(NAME)
MODEL_CARD = "docs/pretrained.md"

CENTRE_REFINER_DIR = os.path.join(HERE, "centre_refiner")
CENTRE_REFINER = os.path.join(CENTRE_REFINER_DIR, "centre_refiner.keras")

INIT_CHOICES = ("scratch", "pretrained") + RUNS
"""`train.init`: "scratch" (random weights), "pretrained" (`CHECKPOINT`), a shipped run's name
(its best checkpoint), or a `.keras` path."""


def load_pretrained():
  """The shipped `HandPoseModel` (uncompiled).

  Raises:
    FileNotFoundError: an installation without the package data (the weights), naming it.
  """
  if not os.path.isfile(CHECKPOINT):
    raise FileNotFoundError(f"{CHECKPOINT}: the pretrained weights are missing from this "
                            f"installation (reinstall handvol; they are package data)")
  return hand_pose_model.load_checkpoint(CHECKPOINT)


@functools.lru_cache(maxsize=1)
def load_centre_refiner():
  """The shipped centre refiner (a Keras model, `centre_refiner.build_centre_refiner`), loaded
  once per process (every serving graph of the process shares its weights). Loaded eagerly
  even when first asked for while a `tf.function` traces (`tf.init_scope`): loaded inside a
  trace, the file's weights would be assignments in that graph that never run, and the model
  would keep its initial weights.

  Raises:
    FileNotFoundError: an installation without the package data, naming the file.
  """
  if not os.path.isfile(CENTRE_REFINER):
    raise FileNotFoundError(f"{CENTRE_REFINER}: the centre refiner's weights are missing from "
                            f"this installation (reinstall handvol; they are package data)")
  with tf.init_scope():
    return keras.saving.load_model(CENTRE_REFINER, compile=False)


def config():
  """The config (dict) of the run that trained the shipped model."""
  with open(os.path.join(WORKDIR, "config.json"), encoding="utf-8") as f:
    return json.load(f)


def checkpoint_path(init):
  """The checkpoint that `train.init` names: None for "scratch"."""
  if init == "scratch":
    return None
  if init == "pretrained":
    return CHECKPOINT
  if init in RUNS:
    return run_checkpoint(init)
  if not (isinstance(init, str) and init.endswith(".keras")):
    raise schema.ConfigError(f"train.init: must be one of {INIT_CHOICES} or a .keras checkpoint, "
                     f"got {init!r}")
  return init


def initialize(model, init):
  """Copies the weights `train.init` names into a built `model` of the same architecture.

  Args:
    model: A built `HandPoseModel` (called once on an example).
    init: "scratch" (nothing is copied), "pretrained", a shipped run's name (`RUNS`), or a
      `.keras` checkpoint path.

  Returns:
    The checkpoint copied from, or None.

  Raises:
    schema.ConfigError: an unknown `init`, or the checkpoint's architecture differs (its weights' count or shapes), naming
      the first weight that differs and the config keys that set it.
  """
  path = checkpoint_path(init)
  if path is None:
    return None
  source = (load_pretrained() if path == CHECKPOINT
            else hand_pose_model.load_checkpoint(path))
  # In creation order: the top-level name (hand_pose_model, hand_pose_model_1, ...) differs
  # between models of one process, the order and shapes do not.
  ours, theirs = model.weights, source.weights
  if len(ours) != len(theirs):
    raise schema.ConfigError(f"{path}: a different architecture ({len(theirs)} weights, this config's "
                     f"model {len(ours)}); model.encoder_width, model.blocks_per_stage and "
                     f"model.head must be the checkpoint's")
  for weight, value in zip(ours, theirs):
    value = np.asarray(value.numpy())
    if tuple(weight.shape) != value.shape:
      raise schema.ConfigError(f"{path}: weight {weight.path.split('/', 1)[-1]} has shape "
                       f"{value.shape}, this config's {tuple(weight.shape)}; "
                       f"model.encoder_width, model.blocks_per_stage and model.head must be "
                       f"the checkpoint's")
  for weight, value in zip(ours, theirs):
    weight.assign(value.numpy())
  return path
