"""Static shape checks with error messages that name the argument, as tensorflow_graphics'
`util/shape.py`: one helper for every function of handvol that checks the shape of its inputs.

`check_static(points, tensor_name="points", has_rank_greater_than=0, has_dim_equals=(-1, 3))`
raises `ValueError("points must have exactly 3 elements in axis -1, got shape (5, 2)")`.
Only what the static shape knows is checked: an unknown rank or dimension passes, so the
checks hold inside `tf.function` and `tf.data` with partly unknown shapes.
"""

import tensorflow as tf


def _dims(dims):
  """A single `(axis, size)` pair, or a list of them, as a list of pairs."""
  if dims is None:
    return []
  if len(dims) == 2 and all(isinstance(value, int) for value in dims):
    return [tuple(dims)]
  return [tuple(pair) for pair in dims]


def check_static(tensor, tensor_name="tensor", has_rank=None, has_rank_greater_than=None,
                 has_rank_less_than=None, has_dim_equals=None, has_dim_greater_than=None):
  """Checks the static shape of a tensor (or of anything with `.shape`, numpy arrays too).

  Args:
    tensor: A tensor or an array.
    tensor_name: The argument's name, for the error message.
    has_rank: The exact rank.
    has_rank_greater_than: The rank must exceed this.
    has_rank_less_than: The rank must be below this.
    has_dim_equals: An `(axis, size)` pair, or a list of them: dimension `axis` (negative
      counts from the end) must be `size`.
    has_dim_greater_than: The same with dimension `axis` above `size`.

  Raises:
    ValueError: A known rank or dimension breaks a condition (also when `axis` is out of the
      known rank).
  """
  shape = tf.TensorShape(getattr(tensor, "shape", None))
  rank = shape.rank
  if rank is None:
    return
  if has_rank is not None and rank != has_rank:
    raise ValueError(f"{tensor_name} must have rank {has_rank}, got shape "
                     f"{tuple(shape.as_list())}")
  if has_rank_greater_than is not None and rank <= has_rank_greater_than:
    raise ValueError(f"{tensor_name} must have a rank greater than {has_rank_greater_than}, got "
                     f"shape {tuple(shape.as_list())}")
  if has_rank_less_than is not None and rank >= has_rank_less_than:
    raise ValueError(f"{tensor_name} must have a rank less than {has_rank_less_than}, got shape "
                     f"{tuple(shape.as_list())}")
  for axis, size in _dims(has_dim_equals):
    dim = _dim(shape, axis, tensor_name)
    if dim is not None and dim != size:
      raise ValueError(f"{tensor_name} must have exactly {size} elements in axis {axis}, got "
                       f"shape {tuple(shape.as_list())}")
  for axis, size in _dims(has_dim_greater_than):
    dim = _dim(shape, axis, tensor_name)
    if dim is not None and dim <= size:
      raise ValueError(f"{tensor_name} must have more than {size} elements in axis {axis}, "
                       f"got shape {tuple(shape.as_list())}")


def _dim(shape, axis, tensor_name):
  if not -shape.rank <= axis < shape.rank:
    raise ValueError(f"{tensor_name} must have an axis {axis}, got shape "
                     f"{tuple(shape.as_list())}")
  return shape.as_list()[axis]
