"""The compiled overlap ops and their pure-TF twins agree on bad input: a NaN or ±Inf in a valid
image row, the mask, a model Gaussian or σ_h makes that batch element NaN on both (the others
keep their values), with a zero gradient; padded rows are ignored whatever they hold; zero and
negative sigmas stay finite (`handvol/ops/reference.py`, module docstring)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from handvol import ops

RTOL = 1e-5
BAD = 1
"""The batch element that gets the bad value; elements 0 and 2 stay clean."""


def _inputs(seed=0, batch=3, n_i=60, n_m=12):
  rng = np.random.default_rng(seed)
  image = np.stack([rng.uniform(0, 64, [batch, n_i]), rng.uniform(0, 64, [batch, n_i]),
                    rng.uniform(0.5, 6, [batch, n_i]), rng.uniform(450, 550, [batch, n_i])], -1)
  model = np.stack([rng.uniform(0, 64, [batch, n_m]), rng.uniform(0, 64, [batch, n_m]),
                    rng.uniform(1, 8, [batch, n_m]), rng.uniform(450, 550, [batch, n_m])], -1)
  mask = np.ones([batch, n_i], np.float32)
  mask[:, -5:] = 0.0  # Padding.
  return {"image_gaussians": image.astype(np.float32), "image_mask": mask,
          "model_gaussians": model.astype(np.float32),
          "model_sigma_3d": rng.uniform(4, 20, [batch, n_m]).astype(np.float32)}


def _values_and_gradients(fn, inputs):
  model = tf.constant(inputs["model_gaussians"])
  sigma_3d = tf.constant(inputs["model_sigma_3d"])
  with tf.GradientTape() as tape:
    tape.watch([model, sigma_3d])
    sums = fn(inputs["image_gaussians"], inputs["image_mask"], model, sigma_3d)
    # A loss that skips the NaN element, as a per-element reduction of finite terms would.
    total = tf.reduce_sum(tf.where(tf.math.is_finite(sums), sums, tf.zeros_like(sums)))
  return sums.numpy(), [g.numpy() for g in tape.gradient(total, [model, sigma_3d])]


CASES = {
    "NaN image u": ("image_gaussians", (BAD, 3, 0), math.nan),
    "NaN image z": ("image_gaussians", (BAD, 3, 3), math.nan),
    "+Inf image z": ("image_gaussians", (BAD, 3, 3), math.inf),
    "+Inf image sigma": ("image_gaussians", (BAD, 3, 2), math.inf),
    "NaN mask": ("image_mask", (BAD, 3), math.nan),
    "NaN model u": ("model_gaussians", (BAD, 2, 0), math.nan),
    "NaN model sigma": ("model_gaussians", (BAD, 2, 2), math.nan),
    "-Inf model z": ("model_gaussians", (BAD, 2, 3), -math.inf),
    "NaN sigma_h": ("model_sigma_3d", (BAD, 2), math.nan),
    "+Inf sigma_h": ("model_sigma_3d", (BAD, 2), math.inf),
}


def test_the_compiled_ops_are_what_is_compared():
  assert ops.compiled_op_in_use()


@pytest.mark.parametrize("case", CASES)
def test_a_nonfinite_input_makes_its_element_nan_on_both_paths(case):
  field, index, value = CASES[case]
  clean = _inputs()
  bad = {key: array.copy() for key, array in clean.items()}
  bad[field][index] = value
  expected, _ = _values_and_gradients(ops.gaussian_overlap_reference, clean)
  for fn in (ops.gaussian_overlap, ops.gaussian_overlap_reference):
    sums, gradients = _values_and_gradients(fn, bad)
    assert math.isnan(sums[BAD]), (fn.__name__, sums)
    np.testing.assert_allclose(np.delete(sums, BAD), np.delete(expected, BAD), rtol=RTOL)
    for gradient in gradients:
      assert np.all(np.isfinite(gradient)) and not np.any(gradient[BAD]), fn.__name__
  _, op_gradients = _values_and_gradients(ops.gaussian_overlap, bad)
  _, ref_gradients = _values_and_gradients(ops.gaussian_overlap_reference, bad)
  for op_gradient, ref_gradient in zip(op_gradients, ref_gradients):
    np.testing.assert_allclose(op_gradient, ref_gradient, rtol=0,
                               atol=RTOL * np.abs(ref_gradient).max())


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_padded_row_is_ignored_whatever_it_holds(value):
  clean = _inputs(seed=1)
  padded = {key: array.copy() for key, array in clean.items()}
  padded["image_gaussians"][BAD, -1] = value  # Mask 0 there.
  expected = ops.gaussian_overlap_reference(**clean).numpy()
  for fn in (ops.gaussian_overlap, ops.gaussian_overlap_reference):
    np.testing.assert_allclose(fn(**padded).numpy(), expected, rtol=RTOL)
  expected_self = ops.image_self_overlap_reference(clean["image_gaussians"],
                                                   clean["image_mask"]).numpy()
  for fn in (ops.image_self_overlap, ops.image_self_overlap_reference):
    np.testing.assert_allclose(fn(padded["image_gaussians"], padded["image_mask"]).numpy(),
                               expected_self, rtol=RTOL)


@pytest.mark.parametrize("field, value", [("u", math.nan), ("sigma", math.inf), ("mask", math.nan)])
def test_the_self_overlap_of_a_nonfinite_row_is_nan_on_both_paths(field, value):
  clean = _inputs(seed=2)
  image, mask = clean["image_gaussians"].copy(), clean["image_mask"].copy()
  if field == "mask":
    mask[BAD, 4] = value
  else:
    image[BAD, 4, {"u": 0, "sigma": 2}[field]] = value
  expected = ops.image_self_overlap_reference(clean["image_gaussians"], clean["image_mask"])
  for fn in (ops.image_self_overlap, ops.image_self_overlap_reference):
    sums = fn(image, mask).numpy()
    assert math.isnan(sums[BAD]), fn.__name__
    np.testing.assert_allclose(np.delete(sums, BAD), np.delete(expected.numpy(), BAD), rtol=RTOL)


def test_zero_and_negative_sigmas_stay_finite_and_agree():
  inputs = _inputs(seed=3)
  inputs["image_gaussians"][:, :4, 2] = 0.0
  inputs["model_gaussians"][:, :2, 2] = 0.0
  inputs["model_sigma_3d"][:, 2] = 0.0
  inputs["model_sigma_3d"][:, 3] = -5.0
  op, ref = (_values_and_gradients(fn, inputs)
             for fn in (ops.gaussian_overlap, ops.gaussian_overlap_reference))
  assert np.all(np.isfinite(op[0])) and np.all(np.isfinite(ref[0]))
  np.testing.assert_allclose(op[0], ref[0], rtol=RTOL)
  for op_gradient, ref_gradient in zip(op[1], ref[1]):
    assert np.all(np.isfinite(op_gradient))
    np.testing.assert_allclose(op_gradient, ref_gradient, rtol=0,
                               atol=RTOL * np.abs(ref_gradient).max())
