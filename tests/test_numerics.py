import numpy as np
import tensorflow as tf

from handvol import numerics


def test_safe_norm_zero_vector_has_zero_gradient():
  x = tf.zeros([3, 3])
  with tf.GradientTape() as tape:
    tape.watch(x)
    n = numerics.safe_norm(x)
  np.testing.assert_array_equal(n.numpy(), 0.0)
  np.testing.assert_array_equal(tape.gradient(n, x).numpy(), 0.0)


def test_safe_divide_is_finite_at_zero_and_exact_elsewhere():
  np.testing.assert_allclose(numerics.safe_divide([6.0, 1.0], [3.0, 0.0]).numpy()[0], 2.0)
  assert np.all(np.isfinite(numerics.safe_divide([6.0, 1.0], [3.0, 0.0]).numpy()))
  np.testing.assert_allclose(numerics.safe_normalize([[3.0, 4.0]]).numpy(), [[0.6, 0.8]])
