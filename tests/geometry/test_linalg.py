"""The elementwise cross product and 3×3 symmetric eigen-decomposition against TF's own."""

import numpy as np
import pytest
import tensorflow as tf

from handvol.geometry import linalg


def _symmetric(count, seed):
  """Random symmetric matrices with eigenvalues over nine orders of magnitude, plus repeated
  (identity, two equal) and zero eigenvalues."""
  rng = np.random.default_rng(seed)
  rotations = np.linalg.qr(rng.normal(size=(count, 3, 3)))[0]
  values = np.exp(rng.uniform(-6.0, 3.0, size=(count, 3)))
  values[:5] = 1.0
  values[5:10] = [2.0, 2.0, 0.0]
  return np.einsum("bij,bj,bkj->bik", rotations, values, rotations).astype(np.float32)


def test_cross_equals_tf():
  rng = np.random.default_rng(1)
  a, b = rng.normal(size=(2, 50, 4, 3)).astype(np.float32)
  np.testing.assert_allclose(linalg.cross(a, b), tf.linalg.cross(a, b), atol=1e-6)
  np.testing.assert_allclose(linalg.cross(a, b[0, 0]), np.cross(a, b[0, 0]), atol=1e-5)


def test_eigh_matches_tf_and_decomposes():
  matrix = _symmetric(2000, seed=0)
  values, vectors = linalg.symmetric_eigh_3x3(matrix)
  expected_values, expected_vectors = tf.linalg.eigh(matrix)
  scale = np.max(np.abs(expected_values), axis=-1, keepdims=True)
  np.testing.assert_allclose(values / scale, expected_values / scale, atol=1e-5)
  assert np.all(np.diff(values, axis=-1) >= 0.0)  # ascending, as eigh
  np.testing.assert_allclose(np.einsum("bji,bjk->bik", vectors, vectors),
                             np.broadcast_to(np.eye(3), matrix.shape), atol=1e-5)
  rebuilt = np.einsum("bij,bj,bkj->bik", vectors, values, vectors)
  np.testing.assert_allclose(rebuilt / scale[..., None], matrix / scale[..., None], atol=1e-5)
  # Eigenvectors of well-separated eigenvalues agree up to sign.
  gap = (expected_values[:, 2] - expected_values[:, 1]) / expected_values[:, 2]
  dots = np.abs(np.sum(vectors[..., 2] * expected_vectors[..., 2], axis=-1))
  assert np.min(dots[gap.numpy() > 1e-2]) > 1.0 - 1e-5


def test_eigh_batches_any_leading_shape_and_runs_in_a_graph():
  matrix = _symmetric(12, seed=2).reshape(3, 4, 3, 3)
  function = tf.function(linalg.symmetric_eigh_3x3,
                         input_signature=[tf.TensorSpec([None, None, 3, 3], tf.float32)])
  values, vectors = function(matrix)
  assert values.shape == (3, 4, 3) and vectors.shape == (3, 4, 3, 3)
  ops = {op.type for op in function.get_concrete_function().graph.get_operations()}
  assert not {"SelfAdjointEigV2", "MatrixDiagPartV3", "Cross"} & ops
  np.testing.assert_allclose(values, tf.linalg.eigvalsh(matrix), rtol=1e-4, atol=1e-6)


def test_shapes_are_checked():
  with pytest.raises(ValueError, match="matrix"):
    linalg.symmetric_eigh_3x3(tf.zeros([2, 3, 4]))
  with pytest.raises(ValueError, match="a"):
    linalg.cross(tf.zeros([2, 4]), tf.zeros([2, 3]))
