"""`handvol.shapes.check_static`: what it accepts, what it rejects, and its messages."""

import numpy as np
import pytest
import tensorflow as tf

from handvol import shapes


def test_accepts_matching_and_unknown_shapes():
  shapes.check_static(np.zeros([2, 5, 3]), tensor_name="points", has_rank=3,
                      has_dim_equals=[(-1, 3), (0, 2)], has_rank_greater_than=1,
                      has_rank_less_than=4, has_dim_greater_than=(1, 4))
  unknown = tf.TensorSpec([None, None, 3])
  shapes.check_static(unknown, has_rank=3, has_dim_equals=[(0, 7), (-1, 3)])
  shapes.check_static(tf.TensorSpec(None), has_rank=5, has_dim_equals=(-1, 3))


@pytest.mark.parametrize("kwargs, message", [
    ({"has_rank": 3}, r"points must have rank 3, got shape \(5, 2\)"),
    ({"has_rank_greater_than": 2}, "points must have a rank greater than 2"),
    ({"has_rank_less_than": 2}, "points must have a rank less than 2"),
    ({"has_dim_equals": (-1, 3)}, "points must have exactly 3 elements in axis -1"),
    ({"has_dim_equals": [(0, 5), (1, 3)]}, "points must have exactly 3 elements in axis 1"),
    ({"has_dim_greater_than": (0, 5)}, "points must have more than 5 elements in axis 0"),
    ({"has_dim_equals": (2, 1)}, "points must have an axis 2"),
])
def test_rejects_with_a_message_that_names_the_argument(kwargs, message):
  with pytest.raises(ValueError, match=message):
    shapes.check_static(tf.zeros([5, 2]), tensor_name="points", **kwargs)
