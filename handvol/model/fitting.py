"""Model fitting without the network: θ and β of each example optimised on the model's energy.

The network regresses (θ, β) and learns from the weighted energy of SPEC §6
(`HandPoseModel.loss_terms`). Minimising that same energy directly, per example, from given
starting parameters says what the loss itself prefers, free of the network's capacity and
training: started at the true parameters of synthetic frames, the fit moves a perfect
prediction wherever the loss pulls it (`scripts/fit_at_truth.py`).

Adam steps are taken on normalised offsets: θ = θ_0 + s·δ_θ, β = β_0 + δ_β, with s
`TRANSLATION_SCALE_MM` for the translation and 1 (radians) for the angles, so one learning rate
moves millimetres and radians alike.
"""

import keras
import numpy as np
import tensorflow as tf

from handvol import shapes
from handvol.hand import skeleton

TRANSLATION_SCALE_MM = 10.0
"""mm of translation per unit of its normalised offset."""

FITTED = ("theta", "beta")
"""The parameters `fit_parameters` can free."""


def _theta_scale():
  scale = np.ones(skeleton.NUM_THETA, np.float32)
  scale[:3] = TRANSLATION_SCALE_MM
  return tf.constant(scale)


def _checked_start(theta, beta, fit, steps):
  """θ and β as float32 tensors, after the checks of `fit_parameters`' arguments."""
  unknown = set(fit) - set(FITTED)
  if unknown:
    raise ValueError(f"fit must be a subset of {FITTED}, got {sorted(unknown)}")
  if steps < 0:
    raise ValueError(f"steps must be non-negative, got {steps}")
  theta0 = tf.constant(theta, tf.float32)
  beta0 = tf.constant(beta, tf.float32)
  shapes.check_static(theta0, tensor_name="theta", has_rank=2,
                      has_dim_equals=(-1, skeleton.NUM_THETA))
  shapes.check_static(beta0, tensor_name="beta", has_rank=2,
                      has_dim_equals=(-1, skeleton.NUM_BETA))
  if theta0.shape[0] != beta0.shape[0]:
    raise ValueError(f"theta and beta must have the same number of examples (shapes), got "
                     f"{theta0.shape} and {beta0.shape}")
  return theta0, beta0


def fit_parameters(model, examples, theta, beta, steps, learning_rate=0.01, fit=FITTED,
                   verbose=True, share_beta=False):
  """Per-example θ and β that lower the model's weighted energy, by Adam from (θ, β).

  The examples are independent: the energy summed over them is minimised, so each example's
  parameters follow its own gradient; with `share_beta` the examples are frames of one hand,
  and one β, started at the mean of `beta`'s rows, is fitted to all of them.

  Args:
    model: A `HandPoseModel`; its enabled terms and λ (`loss_weights`), slack and supervised
      keypoints define the energy. Its encoder is not used.
    examples: A batch of preprocessed examples (the pipeline's dict of tensors), `B` of them.
    theta: `[B, 26]` starting poses (mm and radians, camera frame).
    beta: `[B, 20]` starting bone-length coefficients.
    steps: Adam steps.
    learning_rate: Adam's learning rate (on normalised offsets: 10 mm or 1 rad per unit).
    fit: The parameters to free, a subset of `FITTED`; the others stay at their start.
    verbose: Show a progress bar.
    share_beta: One β for every example (its rows in the result are equal).

  Returns:
    A dict: "theta" `[B, 26]` and "beta" `[B, 20]` (numpy), "energy" `[B]` the weighted energy
    at the end, "terms" term → `[B]` unweighted energies at the end.

  Raises:
    ValueError: for an unknown parameter in `fit`, a negative `steps`, or θ, β whose shapes
      do not match `[B, 26]` and `[B, 20]`.
  """
  theta0, beta0 = _checked_start(theta, beta, fit, steps)
  if share_beta:
    beta0 = tf.broadcast_to(tf.reduce_mean(beta0, axis=0, keepdims=True), tf.shape(beta0))
  theta_offset = tf.Variable(tf.zeros_like(theta0))
  beta_offset = tf.Variable(tf.zeros_like(beta0[:1] if share_beta else beta0))
  variables = [v for name, v in (("theta", theta_offset), ("beta", beta_offset)) if name in fit]
  scale = _theta_scale()
  optimizer = keras.optimizers.Adam(learning_rate)

  def energies():
    theta = theta0 + scale * theta_offset
    beta = beta0 + beta_offset
    terms = model.loss_terms(examples, {"theta": theta, "beta": beta, **model.hand(theta, beta)})
    total = tf.add_n([model.loss_weights[term] * energy for term, energy in terms.items()])
    return total, terms

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      total, _ = energies()
      loss = tf.reduce_sum(total)
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  progress = keras.utils.Progbar(steps, unit_name="step", verbose=int(verbose))
  for _ in range(steps if variables else 0):
    step()
    progress.add(1)
  total, terms = energies()
  return {"theta": (theta0 + scale * theta_offset).numpy(),
          "beta": (beta0 + beta_offset).numpy(), "energy": total.numpy(),
          "terms": {term: energy.numpy() for term, energy in terms.items()}}
