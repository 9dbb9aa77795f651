"""How close can handvol's hand model come to another hand's joints? (issue 17's independent gap)

    python scripts/hand_model_reach.py --capture DIR [--frames 200] [--steps 1500] [--out FILE]

A network trained on handvol's generator reaches All-21 16.1 mm on the generator's sphere views
and 30.9 mm on `independent_hand`'s (`docs/results/cpu_long`). Part of that gap could be the
hand model itself: its kinematics (joint axes, the thumb's base, fixed palm), its 20 PCA
bone-length coefficients β and its joint limits may be unable to put 21 joints where another
geometry has them, however good the network. This script removes the network: for every frame
of a capture folder with the 21 true 3D joints (`independent_hand`'s output) it optimises the
pose head's outputs directly (`handvol.model.head.outputs_to_parameters` with the default
config's head: 6D rotation, translation around the joints' mean), with Adam on the squared
joint distances, from a start whose global rotation is the Kabsch fit of the rest hand's wrist
and four MCPs. Four variants of the model, each reported as All-21 / Lab-6 / Unlab-15 (mm) and
per finger:

- "bounded": articulation within the joint limits (tanh, the default head), β free;
- "free": articulation unbounded (the paper's head), β free;
- "bounded, beta within 3 SD": β clipped to |β_i| ≤ 3 after each step (the bone-length prior
  makes larger values costly);
- "bounded, bone lengths free": the 20 bone lengths optimised directly instead of β, so
  that only the kinematic structure and the limits remain.

`--generator_check N` first fits N hands drawn from random θ within the limits and β ~ N(0, I)
through the same forward kinematics (the fit should reach them: a check of the optimiser).
The last line is one JSON object.
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
from handvol.data import capture
from handvol.evaluation import metrics
from handvol.hand import bone_lengths
from handvol.hand import kinematics
from handvol.hand import limits
from handvol.hand import skeleton
from handvol.model import head as head_lib

_CAPTURE = flags.DEFINE_string("capture", None, "A capture folder with 21 3D joints per frame.")
_FRAMES = flags.DEFINE_integer("frames", 200, "At most this many frames of --capture.",
                               lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 1500, "Adam steps per variant.", lower_bound=1)
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 0.03, "Adam's peak rate (cosine decay).")
_GENERATOR_CHECK = flags.DEFINE_integer("generator_check", 64,
                                        "Hands of the model itself fitted first (0: none).",
                                        lower_bound=0)
_OUT = flags.DEFINE_string("out", None, "Optional JSON file for the result.")

LENGTH_SCALE_MM = 10.0
"""mm of bone length per unit of the "bone lengths free" variant's offsets (Adam's steps are
the same size in every variable)."""
VARIANTS = ("bounded", "free", "bounded, beta within 3 SD", "bounded, bone lengths free")
_PALM = (skeleton.ROOT,) + tuple(keypoints[0] for keypoints in skeleton.FINGER_KEYPOINTS[1:])


class ReachFit:
  """Fits the head's outputs of one variant to `[F, 21, 3]` joints (module docstring)."""

  def __init__(self, head_config, variant):
    if variant not in VARIANTS:
      raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    self.variant = variant
    self.head = dict(head_config, rotation="6d",
                     articulation="free" if variant == "free" else "bounded")
    self.bones = bone_lengths.default_bone_model()

  def _parameters(self, outputs, center):
    return head_lib.outputs_to_parameters(
        outputs, center, self.head["translation_scale_mm"], self.head["rotation_scale"],
        self.head["beta_scale"], limits.LOWER, limits.UPPER,
        articulation=self.head["articulation"], rotation_offset=self.head["rotation_offset"],
        rotation="6d")

  def keypoints(self, outputs, center, lengths_offset):
    """`[F, 21, 3]` mm of outputs `[F, 49]`, reference points `[F, 3]` mm and bone-length
    offsets `[F, 20]` (units of `LENGTH_SCALE_MM`; used by "bone lengths free" only)."""
    parameters = self._parameters(outputs, center)
    lengths = self.bones.lengths(parameters["beta"])
    if self.variant == "bounded, bone lengths free":
      lengths = tf.constant(self.bones.mean, outputs.dtype) + LENGTH_SCALE_MM * lengths_offset
    return kinematics.forward_kinematics(parameters["theta"], lengths,
                                         parameters["rotation_matrix"])["keypoints"]

  def start(self, truth):
    """Outputs `[F, 49]` whose rest hand's palm is Kabsch-fitted to the truth's, and centres."""
    num = truth.shape[0]
    center = truth.mean(axis=1).astype(np.float32)
    outputs = np.zeros((num, head_lib.num_outputs("6d")), np.float32)
    rest = self.keypoints(tf.constant(outputs), tf.constant(center),
                          tf.zeros((num, skeleton.NUM_BONES))).numpy()
    rest_rotation = self._parameters(tf.constant(outputs), tf.constant(center))[
        "rotation_matrix"].numpy()
    turn = metrics.best_rotations(rest[:, _PALM], truth[:, _PALM])
    rotation = turn @ rest_rotation
    rest_six_d = np.concatenate([rest_rotation[:, :, 0], rest_rotation[:, :, 1]], axis=-1)
    six_d = np.concatenate([rotation[:, :, 0], rotation[:, :, 1]], axis=-1)
    outputs[:, 3:9] = (six_d - rest_six_d) / self.head["rotation_scale"]
    # Translation: the rest wrist turned about the palm's centre onto the truth's.
    rest_palm = rest[:, _PALM].mean(axis=1)
    wrist = (np.einsum("fij,fj->fi", turn, rest[:, skeleton.ROOT] - rest_palm)
             + truth[:, _PALM].mean(axis=1))
    outputs[:, :3] = (wrist - center) / self.head["translation_scale_mm"]
    return outputs, center

  def fit(self, truth, steps, learning_rate):
    """Per-frame fitted keypoints `[F, 21, 3]` and β `[F, 20]` for true joints `[F, 21, 3]`."""
    truth = np.asarray(truth, np.float32)
    start, center = self.start(truth)
    outputs = tf.Variable(start)
    offsets = tf.Variable(tf.zeros((truth.shape[0], skeleton.NUM_BONES)))
    center = tf.constant(center)
    target = tf.constant(truth)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.01)
    optimizer = keras.optimizers.Adam(schedule)
    clip_beta = self.variant == "bounded, beta within 3 SD"
    beta_slice = slice(head_lib.num_outputs("6d") - skeleton.NUM_BETA, None)

    variables = [outputs] + ([offsets] if self.variant == "bounded, bone lengths free" else [])

    @tf.function
    def step():
      with tf.GradientTape() as tape:
        keypoints = self.keypoints(outputs, center, offsets)
        loss = tf.reduce_sum(tf.square(keypoints - target)) / 1000.0
      optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
      if clip_beta:
        limit = 3.0 / self.head["beta_scale"]
        outputs[:, beta_slice].assign(tf.clip_by_value(outputs[:, beta_slice], -limit, limit))
      return loss

    for _ in range(steps):
      step()
    fitted = self.keypoints(outputs, center, offsets).numpy()
    beta = self._parameters(outputs, center)["beta"].numpy()
    return fitted, beta


def _report(fitted, truth, beta):
  errors = metrics.joint_errors(fitted, truth)
  report = {name: float(errors[:, list(subset)].mean()) for name, subset in
            (("all21_mm", range(skeleton.NUM_KEYPOINTS)), ("lab6_mm", skeleton.LAB6),
             ("unlab15_mm", skeleton.UNLAB15))}
  report["per_finger_mm"] = {
      finger: float(errors[:, list(keypoints)].mean())
      for finger, keypoints in zip(skeleton.FINGERS, skeleton.FINGER_KEYPOINTS)}
  report["frames_over_5mm"] = float(np.mean(errors.mean(axis=-1) > 5.0))
  report["beta_abs_max_median"] = float(np.median(np.abs(beta).max(axis=-1)))
  return report


def _generator_hands(num, seed):
  """`[num, 21, 3]` joints of random θ (limits, any rotation) and β ~ N(0, I), 500 mm away."""
  rng = np.random.default_rng(seed)
  theta = np.zeros((num, skeleton.NUM_THETA), np.float32)
  theta[:, 2] = 500.0
  theta[:, 3:6] = rng.uniform(-np.pi, np.pi, (num, 3))
  theta[:, 6:] = rng.uniform(limits.LOWER, limits.UPPER, (num, skeleton.NUM_ARTICULATIONS))
  beta = rng.standard_normal((num, skeleton.NUM_BETA)).astype(np.float32)
  lengths = bone_lengths.default_bone_model().lengths(tf.constant(beta))
  return kinematics.forward_kinematics(tf.constant(theta), lengths)["keypoints"].numpy()


def _capture_joints(folder, num):
  joints = []
  for record in capture.read_frames(folder):
    joints.append(record["xyz"])
    if len(joints) == num:
      break
  return np.asarray(joints, np.float32)


def main(argv):
  del argv
  if not _CAPTURE.value:
    raise app.UsageError("--capture is required")
  head_config = configs.load("default")["model"]["head"]
  result = {"capture": _CAPTURE.value, "steps": _STEPS.value, "variants": {}}
  if _GENERATOR_CHECK.value:
    truth = _generator_hands(_GENERATOR_CHECK.value, seed=0)
    fitted, beta = ReachFit(head_config, "bounded").fit(truth, _STEPS.value,
                                                        _LEARNING_RATE.value)
    result["generator_check"] = _report(fitted, truth, beta)
    print(f"generator check ({len(truth)} hands of the model itself): All-21 "
          f"{result['generator_check']['all21_mm']:.2f} mm", flush=True)
  truth = _capture_joints(_CAPTURE.value, _FRAMES.value)
  result["frames"] = len(truth)
  for variant in VARIANTS:
    began = time.time()
    fitted, beta = ReachFit(head_config, variant).fit(truth, _STEPS.value, _LEARNING_RATE.value)
    report = result["variants"][variant] = _report(fitted, truth, beta)
    fingers = " ".join(f"{k} {v:.1f}" for k, v in report["per_finger_mm"].items())
    print(f"{variant:28s} All-21 {report['all21_mm']:5.2f}  Lab-6 {report['lab6_mm']:5.2f}  "
          f"Unlab-15 {report['unlab15_mm']:5.2f} mm; per finger {fingers}; "
          f"median max|beta| {report['beta_abs_max_median']:.1f} ({time.time() - began:.0f} s)",
          flush=True)
  if _OUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
    with open(_OUT.value, "w", encoding="utf-8") as f:
      json.dump(result, f, indent=1)
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
