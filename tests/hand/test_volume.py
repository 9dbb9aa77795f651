import numpy as np
import pytest
import tensorflow as tf

from handvol.hand import bone_lengths
from handvol.hand import kinematics
from handvol.hand import skeleton
from handvol.hand import volume


def test_table_shapes():
  assert 30 <= volume.NUM_GAUSSIANS <= 50
  assert volume.SIGMAS_MM.shape == volume.GAUSSIAN_FRACTIONS.shape == (volume.NUM_GAUSSIANS,)
  assert np.all(volume.SIGMAS_MM > 0)
  assert np.all((volume.GAUSSIAN_FRACTIONS >= 0) & (volume.GAUSSIAN_FRACTIONS <= 1))
  # Every bone carries at least one Gaussian; the palm ones sit on the rigid palm bones.
  assert set(volume.GAUSSIAN_BONES) == set(range(skeleton.NUM_BONES))


def test_gaussians_move_rigidly_with_their_bones(random_pose):
  rng = np.random.default_rng(0)
  lengths = np.tile(bone_lengths.default_bone_model().mean, (6, 1))
  fk = kinematics.forward_kinematics(random_pose(rng, 6, max_articulation=1.0), lengths)
  centres = volume.posed_gaussians(fk).numpy()
  frames = fk["bone_frames"].numpy()[:, volume.GAUSSIAN_BONES]
  starts = fk["bone_starts"].numpy()[:, volume.GAUSSIAN_BONES]
  local = np.einsum("bgji,bgj->bgi", frames, centres - starts)
  expected = np.zeros((volume.NUM_GAUSSIANS, 3))
  expected[:, 0] = volume.GAUSSIAN_FRACTIONS * lengths[0, volume.GAUSSIAN_BONES]
  np.testing.assert_allclose(local, np.broadcast_to(expected, local.shape), atol=1e-9)


def test_collision_pairs_skip_same_and_adjacent_bones():
  pairs = volume.COLLISION_PAIRS
  assert pairs.ndim == 2 and pairs.shape[1] == 2 and np.all(pairs[:, 0] < pairs[:, 1])
  assert len({tuple(p) for p in pairs}) == len(pairs)
  bones = {(volume.GAUSSIAN_BONES[j], volume.GAUSSIAN_BONES[k]) for j, k in pairs}
  bone = {name: index for index, name in enumerate(skeleton.BONE_NAMES)}
  assert all(a != b for a, b in bones)
  assert (bone["index_mcp->index_pip"], bone["index_pip->index_dip"]) not in bones
  assert (bone["wrist->index_mcp"], bone["wrist->middle_mcp"]) not in bones
  assert (bone["thumb_cmc->thumb_mcp"], bone["wrist->index_mcp"]) not in bones
  assert (bone["wrist->middle_mcp"], bone["ring_mcp->ring_pip"]) not in bones
  assert (bone["wrist->index_mcp"], bone["ring_mcp->ring_pip"]) in bones
  # Fingertips of neighbouring fingers and the thumb tip against the palm do collide.
  assert (bone["index_dip->index_tip"], bone["middle_dip->middle_tip"]) in bones
  assert (bone["wrist->middle_mcp"], bone["thumb_ip->thumb_tip"]) in bones


def test_posed_gaussians_in_a_graph_and_shape_error():
  fk = kinematics.forward_kinematics(tf.zeros((2, skeleton.NUM_THETA)),
                                     tf.ones((2, skeleton.NUM_BONES)))
  assert tf.function(volume.posed_gaussians)(fk).shape == (2, volume.NUM_GAUSSIANS, 3)
  with pytest.raises(ValueError, match="keypoints"):
    volume.posed_gaussians({"keypoints": tf.zeros((2, 20, 3)), "bone_starts": fk["bone_starts"]})
