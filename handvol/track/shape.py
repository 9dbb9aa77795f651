"""Per-user shape calibration: one β (bone lengths) for one hand, from many frames, held fixed.

The network predicts β per frame, so the bone lengths of one hand change from frame to frame.
A sequence holds much more evidence about the hand's shape than one frame. Two estimates
(`METHODS`), both giving one β for the whole sequence:

- "robust_mean": the mean of the per-frame β of the half of the frames nearest the
  coordinate-wise median (β ~ N(0, I), so Euclidean distance in β is the prior's
  Mahalanobis distance). Cheap; it can only be as right as the network's β is on average.
- "fit": the generative energy of SPEC §6 (dissimilarity to the frames' depth Gaussians,
  collision, bone-length prior, joint limits; no labels) minimised over N frames with one
  shared β and a θ per frame, both started at the network's predictions (β at the robust
  mean), by `handvol.model.fitting.fit_parameters(share_beta=True)`. The image decides the
  shape; the network only gives the start.

The result, a `Shape`, is saved as a small JSON file (`save`, `load`; `python -m handvol.track
--shape FILE` reuses it). Joints with a fixed shape are forward kinematics of the network's θ
with the shape's bone lengths (`joints_with_shape`), and filtered joints are put back on them
(`impose_bone_lengths`): constant bone lengths by construction.
"""

import dataclasses
import json
import math

import numpy as np
import tensorflow as tf

from handvol.data import atomic
from handvol.hand import bone_lengths
from handvol.hand import kinematics
from handvol.hand import skeleton
from handvol.model import fitting
from handvol.model import hand_pose_model
from handvol.training import input_pipeline

METHODS = ("robust_mean", "fit")
FORMAT_NAME = "handvol-shape"
FORMAT_VERSION = 1
ENERGY_WEIGHTS = {"dissim": 1.0, "collision": 1e-5, "bone": 1e-2, "lim": 1.0, "joint": 0.0}
"""λ of the calibration's energy: the training default's image and prior terms, no labels."""


@dataclasses.dataclass(frozen=True)
class Shape:
  """One hand's calibrated shape.

  Attributes:
    beta: `[20]` bone-length coefficients.
    bone_lengths: `[20]` mm, `skeleton.BONE_NAMES` order (the default bone model's lengths of
      `beta`).
    method: One of `METHODS`, or "file" text of where it came from.
    frames: The number of frames it was estimated from.
  """
  beta: np.ndarray
  bone_lengths: np.ndarray
  method: str
  frames: int


def shape_from_beta(beta, method, frames):
  """A `Shape` of β `[20]` with the default bone model's lengths."""
  beta = np.asarray(beta, np.float64).reshape(skeleton.NUM_BETA)
  lengths = bone_lengths.default_bone_model().lengths(tf.constant(beta)).numpy()
  return Shape(beta=beta, bone_lengths=lengths, method=method, frames=int(frames))


def robust_mean(betas, keep_fraction=0.5):
  """The mean of the rows of `betas` `[F, 20]` nearest their coordinate-wise median.

  Args:
    betas: `[F, 20]` per-frame β.
    keep_fraction: The fraction of frames kept (at least one).

  Returns:
    `[20]` float64.
  """
  betas = np.asarray(betas, np.float64)
  if betas.ndim != 2 or betas.shape[1] != skeleton.NUM_BETA or not len(betas):
    raise ValueError(f"betas must have shape [frames >= 1, {skeleton.NUM_BETA}], got "
                     f"{betas.shape}")
  distance = np.linalg.norm(betas - np.median(betas, axis=0), axis=-1)
  keep = np.argsort(distance, kind="stable")[:max(1, math.ceil(keep_fraction * len(betas)))]
  return betas[keep].mean(axis=0)


def energy_model(bone_weight=ENERGY_WEIGHTS["bone"]):
  """A `HandPoseModel` whose energy (`ENERGY_WEIGHTS`, λ_bone = `bone_weight`) the fit
  minimises; its encoder is never run, so any network (an export, a checkpoint) can be
  calibrated with it."""
  return hand_pose_model.HandPoseModel(encoder_width=1, blocks_per_stage=(1, 1, 1, 1),
                                       loss_weights=dict(ENERGY_WEIGHTS, bone=bone_weight))


def fit_examples(crop_depth, crop_intrinsics, center_xyz, max_gaussians):
  """The examples `fit_parameters` needs, from crops of `serving.preprocess_frames`.

  Args:
    crop_depth: `[N, 128, 128]` mm (0: no measurement).
    crop_intrinsics: `[N, 4]`.
    center_xyz: `[N, 3]` mm.
    max_gaussians: N_i,max of the quadtree (the training config's `data.max_gaussians`).

  Returns:
    A dict of tensors with the image Gaussians and their self-overlap.
  """
  batch = {"crop_depth": tf.constant(crop_depth, tf.float32),
           "crop_intrinsics": tf.constant(crop_intrinsics, tf.float32),
           "center_xyz": tf.constant(center_xyz, tf.float32)}
  config = input_pipeline.PipelineConfig(max_gaussians=max_gaussians)
  return input_pipeline.add_image_gaussians(batch, config)


def fit_shape(examples, theta, betas, steps, learning_rate, bone_weight=ENERGY_WEIGHTS["bone"]):
  """One β fitted to N frames with a θ per frame ("fit", module docstring).

  Args:
    examples: A dict of `fit_examples`, N frames.
    theta: `[N, 26]` the network's poses of those frames.
    betas: `[N, 20]` the network's β; the fit starts at their `robust_mean`.
    steps: Adam steps.
    learning_rate: Adam's learning rate (`fitting.fit_parameters`).
    bone_weight: λ of the bone-length prior ‖β‖² (per frame, as in training; the config's
      `track.calibration.bone_weight`).

  Returns:
    A `Shape`.
  """
  start = np.tile(robust_mean(betas), (len(theta), 1))
  fitted = fitting.fit_parameters(energy_model(bone_weight), examples,
                                  np.asarray(theta, np.float32), start.astype(np.float32),
                                  steps, learning_rate, verbose=False, share_beta=True)
  return shape_from_beta(fitted["beta"][0], "fit", len(theta))


def joints_with_shape(theta, shape):
  """Keypoints `[N, 21, 3]` (mm) of poses `[N, 26]` with the shape's bone lengths."""
  theta = tf.constant(np.asarray(theta, np.float64))
  lengths = tf.broadcast_to(tf.constant(shape.bone_lengths, tf.float64),
                            [theta.shape[0], skeleton.NUM_BONES])
  return kinematics.forward_kinematics(theta, lengths)["keypoints"].numpy()


def impose_bone_lengths(joints, lengths):
  """Joints `[..., 21, 3]` moved so that every bone has its length of `lengths` `[20]` (mm),
  keeping the wrist and each bone's direction: filtered joints (averages over time of rotating
  bones, a little short) back on the calibrated shape."""
  joints = np.asarray(joints, np.float64)
  out = joints.copy()
  for bone in range(skeleton.NUM_BONES):
    start, end = skeleton.BONE_START[bone], skeleton.BONE_END[bone]
    direction = joints[..., end, :] - joints[..., start, :]
    norm = np.linalg.norm(direction, axis=-1, keepdims=True)
    out[..., end, :] = out[..., start, :] + lengths[bone] * direction / np.maximum(norm, 1e-9)
  return out


def save(path, shape):
  """Writes a shape as JSON (atomically): β, bone lengths in mm with their names, provenance."""
  atomic.write_json(path, {
      "format": FORMAT_NAME, "version": FORMAT_VERSION,
      "beta": np.round(shape.beta, 6).tolist(),
      "bone_lengths_mm": np.round(shape.bone_lengths, 3).tolist(),
      "bone_names": list(skeleton.BONE_NAMES), "method": shape.method,
      "frames": shape.frames}, indent=1)


def load(path):
  """Reads a shape file of `save`.

  Raises:
    ValueError: not a shape file, another bone order, or β not 20 finite numbers.
  """
  try:
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
  except ValueError as error:
    raise ValueError(f"{path}: not a JSON shape file ({error})") from None
  if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
    raise ValueError(f"{path}: not a {FORMAT_NAME} file")
  if tuple(data.get("bone_names", ())) != skeleton.BONE_NAMES:
    raise ValueError(f"{path}: written for another bone order")
  beta = np.asarray(data.get("beta"), dtype=np.float64)
  if beta.shape != (skeleton.NUM_BETA,) or not np.all(np.isfinite(beta)):
    raise ValueError(f"{path}: beta must be {skeleton.NUM_BETA} finite numbers")
  return shape_from_beta(beta, data.get("method", "file"), data.get("frames", 0))
