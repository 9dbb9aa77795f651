"""The full model: encoder → θ, β → hand model, trained with the weighted energy of SPEC §6.

`HandPoseModel` is a `keras.Model` whose `call` runs encoder + head + hand model (pure TF, no
custom op) and whose `compute_loss` adds the enabled loss terms, each weighted by its λ and
logged as a metric (`<term>_loss`, the batch mean of the unweighted energy). A term whose λ is 0
is switched off: its layer is not even built, so an ablation does not pay for it (without the
dissimilarity term the model has no custom op and may use XLA).
"""

import os

import keras
import tensorflow as tf

from handvol.geometry import camera
from handvol.hand import skeleton
from handvol.losses import bone_length
from handvol.losses import collision
from handvol.losses import dissimilarity
from handvol.losses import joint_limits
from handvol.losses import keypoints as keypoint_loss
from handvol.model import decoder
from handvol.model import encoder
from handvol.model import hand_layer
from handvol.model import head

LOSS_TERMS = ("dissim", "collision", "bone", "lim", "joint")
"""The energy terms of SPEC §6, in the order of the total energy."""

DEFAULT_LOSS_WEIGHTS = {"dissim": 1.0, "collision": 1e-5, "bone": 1e-2, "lim": 1.0,
                        "joint": 1e-3}
"""λ per term. E_dissim is unitless in [−1, 0]; E_joint is in mm² (1e-3: 30 mm of error on one
keypoint costs about as much as the whole dissimilarity); E_collision in mm³ (a pair of 10 mm
Gaussians at one σ apart overlaps by ≈ 3400 mm³); E_lim in rad²; E_bone unitless."""

INPUT_KEYS = ("depth_input", "crop_intrinsics", "center_xyz")
"""The training-example keys the network itself reads; the rest are loss targets."""


@keras.saving.register_keras_serializable(package="handvol")
class HandPoseModel(keras.Model):
  """Depth crop → hand pose θ, bone lengths β and 21 keypoints, with the generative loss.

  Args:
    encoder_width: Channels of the ResNet's first stage (64 = ResNet-18).
    blocks_per_stage: Basic blocks per ResNet stage ((2, 2, 2, 2) = ResNet-18).
    head_config: Optional dict of `PoseHead` arguments (scales, articulation map).
    loss_weights: Optional dict term → λ over `LOSS_TERMS`; missing terms take
      `DEFAULT_LOSS_WEIGHTS`, λ = 0 switches a term off.
    slack_mm: The keypoint loss's slack radius s in mm.
    supervised_keypoints: Optional keypoint indices whose labels are used (e.g.
      `skeleton.LAB6`); None uses every label the example carries.
    use_visibility: Weight keypoint labels by their visibility flags (`KeypointLoss`).

  Call arguments:
    inputs: A dict with "depth_input" `[B, 128, 128, 1]` and "center_xyz" `[B, 3]` (mm); other
      keys (the rest of a training example) are ignored.
    training: Whether batch norm uses batch statistics.

  Returns:
    A dict: "theta" `[B, 26]`, "beta" `[B, 20]`, "keypoints" `[B, 21, 3]` mm camera frame,
    "bone_lengths" `[B, 20]` mm, "gaussian_centers" `[B, N_m, 3]` mm.

  Example:
  >>> model = HandPoseModel(encoder_width=16, supervised_keypoints=skeleton.LAB6)
  >>> model.compile(optimizer=keras.optimizers.Adam(1e-3))
  >>> model.fit(training_examples.batch(16), epochs=1)
  """

  def __init__(self, encoder_width=64, blocks_per_stage=(2, 2, 2, 2), head_config=None,
               loss_weights=None, slack_mm=0.0, supervised_keypoints=None, use_visibility=True,
               **kwargs):
    super().__init__(**kwargs)
    unknown = set(loss_weights or {}) - set(LOSS_TERMS)
    if unknown:
      raise ValueError(f"loss_weights has unknown terms {sorted(unknown)}; terms are "
                       f"{LOSS_TERMS}")
    self.encoder_width = int(encoder_width)
    self.blocks_per_stage = tuple(int(n) for n in blocks_per_stage)
    self.head_config = dict(head_config or {})
    self.loss_weights = {term: float((loss_weights or {}).get(term, DEFAULT_LOSS_WEIGHTS[term]))
                         for term in LOSS_TERMS}
    self.slack_mm = float(slack_mm)
    self.supervised_keypoints = (None if supervised_keypoints is None else
                                 [int(k) for k in supervised_keypoints])
    self.use_visibility = bool(use_visibility)

    self.pose_head = head.PoseHead(**self.head_config, name="pose_head")
    self.encoder = encoder.ResNetEncoder(self.pose_head.num_outputs, self.encoder_width,
                                         self.blocks_per_stage, name="encoder")
    self.hand = hand_layer.HandModelLayer(name="hand")
    self.decoder = decoder.GaussianDecoder(name="decoder")
    self.enabled_terms = tuple(t for t in LOSS_TERMS if self.loss_weights[t] != 0.0)
    term_layers = {
        "dissim": dissimilarity.DissimilarityLoss,
        "collision": collision.CollisionLoss,
        "bone": bone_length.BoneLengthLoss,
        "lim": joint_limits.JointLimitLoss,
        "joint": lambda name: keypoint_loss.KeypointLoss(
            self.slack_mm, self.supervised_keypoints, self.use_visibility, name=name),
    }
    self.loss_layers = [term_layers[t](name=f"{t}_loss") for t in self.enabled_terms]
    self.term_trackers = [keras.metrics.Mean(name=f"{t}_loss") for t in self.enabled_terms]
    self.error_tracker = keras.metrics.Mean(name="all21_mm")

  def build(self, input_shape):
    self.encoder.build(input_shape["depth_input"])

  def call(self, inputs, training=None):
    outputs = self.encoder(inputs["depth_input"], training=training)
    parameters = self.pose_head(outputs, inputs["center_xyz"])
    hand = self.hand(parameters["theta"], parameters["beta"],
                     parameters.get("rotation_matrix"))
    return {**parameters, **hand}

  def predict_joints(self, depth_input, crop_intrinsics, center_xyz):
    """Inference without the loss (no custom op): what the serving graph runs.

    Args:
      depth_input: `[B, 128, 128, 1]` normalised depth crops (SPEC §7).
      crop_intrinsics: `[B, 4]` the crops' (fx, fy, cx, cy).
      center_xyz: `[B, 3]` the crops' reference points in mm, camera frame.

    Returns:
      A dict: "theta" `[B, 26]`, "beta" `[B, 20]`, "keypoints" `[B, 21, 3]` (mm, camera frame)
      and "keypoints_uv" `[B, 21, 2]` (crop pixels).
    """
    outputs = self({"depth_input": depth_input, "center_xyz": center_xyz}, training=False)
    keypoints_uv = camera.project(outputs["keypoints"],
                                  tf.convert_to_tensor(crop_intrinsics)[:, tf.newaxis])
    return {"theta": outputs["theta"], "beta": outputs["beta"],
            "keypoints": outputs["keypoints"], "keypoints_uv": keypoints_uv}

  def loss_terms(self, example, outputs):
    """Per-example energies of the enabled terms.

    Args:
      example: A batch of training examples (the pipeline's dict).
      outputs: The model's outputs on it (`call`).

    Returns:
      A dict term → `[B]` unweighted energies, over `enabled_terms`.
    """
    theta = outputs["theta"]
    centers = outputs["gaussian_centers"]
    arguments = {
        "dissim": lambda: (example["image_gaussians"], example["image_mask"],
                           self.decoder(centers, self.hand.sigmas_mm, example["crop_intrinsics"]),
                           tf.broadcast_to(tf.constant(self.hand.sigmas_mm, centers.dtype),
                                           tf.shape(centers)[:-1]),
                           example["image_self_overlap"]),
        "collision": lambda: (centers,),
        "bone": lambda: (outputs["beta"],),
        "lim": lambda: (theta[:, skeleton.THETA_ARTICULATION],),
        "joint": lambda: (outputs["keypoints"], example["uv"], example["xyz"], example["kind"],
                          example["visible"], example["crop_intrinsics"]),
    }
    return {term: layer(*arguments[term]())
            for term, layer in zip(self.enabled_terms, self.loss_layers)}

  def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
    del y, sample_weight, training  # The example carries its own targets.
    energies = self.loss_terms(x, y_pred)
    total = tf.zeros([], dtype=y_pred["theta"].dtype)
    for term, tracker in zip(self.enabled_terms, self.term_trackers):
      mean_energy = tf.reduce_mean(energies[term])
      tracker.update_state(mean_energy)
      total += self.loss_weights[term] * mean_energy
    has_truth = tf.cast(x["has_truth"], y_pred["keypoints"].dtype)
    truth = tf.where(has_truth[:, tf.newaxis, tf.newaxis] > 0, x["truth_xyz"],
                     y_pred["keypoints"])
    errors = tf.reduce_mean(tf.norm(y_pred["keypoints"] - truth, axis=-1), axis=-1)
    self.error_tracker.update_state(errors, sample_weight=has_truth)
    # Keras' own losses divide by the replica count; gradients are summed across replicas.
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return total / replicas

  def get_config(self):
    config = super().get_config()
    config.update(encoder_width=self.encoder_width, blocks_per_stage=list(self.blocks_per_stage),
                  head_config=self.head_config, loss_weights=self.loss_weights,
                  slack_mm=self.slack_mm, supervised_keypoints=self.supervised_keypoints,
                  use_visibility=self.use_visibility)
    return config


def load_checkpoint(path):
  """A `HandPoseModel` from a `.keras` checkpoint (e.g. `workdir/checkpoints/best.keras`)."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such checkpoint file")
  # The classes of this module are registered with Keras' deserialisation.
  model = keras.saving.load_model(path, compile=False)
  if not isinstance(model, HandPoseModel):
    raise ValueError(f"{path}: expected a HandPoseModel checkpoint, got a "
                     f"{type(model).__name__}")
  return model
