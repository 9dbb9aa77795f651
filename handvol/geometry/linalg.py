"""Small linear algebra in elementwise TF ops, for graphs that run outside TensorFlow.

`tf.linalg.cross` and `tf.linalg.eigh` have no LiteRT builtin and no ONNX conversion
(tf2onnx and the LiteRT converter both refuse `Cross` and `SelfAdjointEigV2`). The serving
graph uses these instead, so that one graph runs in TF Serving, LiteRT and ONNX Runtime
(docs/serving.md, "Other runtimes"). Both are exact to float32 rounding of the TF ops.
"""

import tensorflow as tf

from handvol import shapes

JACOBI_SWEEPS = 6
"""Cyclic Jacobi sweeps of `symmetric_eigh_3x3`. Each sweep squares the off-diagonal's relative
size (quadratic convergence); 6 bring any float32 3×3 matrix to its rounding level (the tests
check 1e-5 of the largest eigenvalue against `tf.linalg.eigh` on ill-conditioned matrices)."""

_PAIRS = ((0, 1), (0, 2), (1, 2))


def cross(a, b, name=None):
  """The cross product a × b of 3-vectors, broadcast over leading dimensions.

  Args:
    a: A tensor of shape `[..., 3]`.
    b: A tensor of shape `[..., 3]` (broadcastable with `a`).
    name: Optional name scope.

  Returns:
    A tensor of shape `[..., 3]`, as `tf.linalg.cross`.
  """
  with tf.name_scope(name or "cross"):
    a = tf.convert_to_tensor(a)
    b = tf.convert_to_tensor(b, a.dtype)
    shapes.check_static(a, tensor_name="a", has_dim_equals=(-1, 3))
    shapes.check_static(b, tensor_name="b", has_dim_equals=(-1, 3))
    ax, ay, az = tf.unstack(a, axis=-1)
    bx, by, bz = tf.unstack(b, axis=-1)
    return tf.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)


def _rotation(matrix, p, q):
  """The Jacobi rotation `[..., 3, 3]` that zeroes entry (p, q) of symmetric `matrix` in
  Rᵀ·A·R: angle θ with tan 2θ = 2·a_pq / (a_qq − a_pp)."""
  theta = 0.5 * tf.atan2(2.0 * matrix[..., p, q], matrix[..., q, q] - matrix[..., p, p])
  cosine, sine = tf.cos(theta), tf.sin(theta)
  one, zero = tf.ones_like(theta), tf.zeros_like(theta)
  entries = [[one, zero, zero], [zero, one, zero], [zero, zero, one]]
  entries[p][p], entries[q][q] = cosine, cosine
  entries[p][q], entries[q][p] = sine, -sine
  return tf.stack([tf.stack(row, axis=-1) for row in entries], axis=-2)


def _swap_where(values, vectors, i, j):
  """Swaps eigenpairs i and j of the rows where value i exceeds value j."""
  swap = values[..., i] > values[..., j]
  order = list(range(3))
  order[i], order[j] = j, i
  swapped_values = tf.gather(values, order, axis=-1)
  swapped_vectors = tf.gather(vectors, order, axis=-1)
  return (tf.where(swap[..., tf.newaxis], swapped_values, values),
          tf.where(swap[..., tf.newaxis, tf.newaxis], swapped_vectors, vectors))


def symmetric_eigh_3x3(matrix, sweeps=JACOBI_SWEEPS, name=None):
  """Eigen-decomposition of symmetric 3×3 matrices by cyclic Jacobi rotations.

  Args:
    matrix: A tensor of shape `[..., 3, 3]`, symmetric (only its symmetric part is meaningful).
    sweeps: Number of sweeps over the three off-diagonal pairs (`JACOBI_SWEEPS`).
    name: Optional name scope.

  Returns:
    `(eigenvalues, eigenvectors)` as `tf.linalg.eigh`: eigenvalues `[..., 3]` in ascending
    order, eigenvectors `[..., 3, 3]` with the unit eigenvector of eigenvalue k in column k
    (each column's sign is arbitrary, as in `eigh`).
  """
  with tf.name_scope(name or "symmetric_eigh_3x3"):
    matrix = tf.convert_to_tensor(matrix)
    shapes.check_static(matrix, tensor_name="matrix", has_dim_equals=[(-1, 3), (-2, 3)])
    matrix = 0.5 * (matrix + tf.linalg.matrix_transpose(matrix))
    vectors = tf.eye(3, batch_shape=tf.shape(matrix)[:-2], dtype=matrix.dtype)

    def sweep(count, matrix, vectors):
      for p, q in _PAIRS:
        rotation = _rotation(matrix, p, q)
        matrix = tf.matmul(tf.matmul(rotation, matrix, transpose_a=True), rotation)
        vectors = tf.matmul(vectors, rotation)
      return count + 1, matrix, vectors

    # A loop, not `sweeps` unrolled copies: the unrolled sweeps were 1,300 of the localiser's
    # 3,200 graph nodes and half its tracing time (the serving export, every training
    # pipeline, and tf2onnx's wiring of the localiser's `If` branch all pay for each node).
    _, matrix, vectors = tf.while_loop(lambda count, *_: count < sweeps, sweep,
                                       (tf.constant(0), matrix, vectors),
                                       maximum_iterations=sweeps)
    values = tf.stack([matrix[..., k, k] for k in range(3)], axis=-1)  # no MatrixDiagPart in LiteRT
    for i, j in ((0, 1), (1, 2), (0, 1)):  # a sorting network of three elements
      values, vectors = _swap_where(values, vectors, i, j)
    return values, vectors
