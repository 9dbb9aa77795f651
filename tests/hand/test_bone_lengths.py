import os
import pickle
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.sparse
import tensorflow as tf

from handvol.hand import bone_lengths
from handvol.hand import kinematics
from handvol.hand import skeleton

REPO_ROOT = bone_lengths.DEFAULT_MODEL_PATH.parents[3]


def test_sampling_beta_reproduces_the_source_statistics():
  model = bone_lengths.default_bone_model()
  beta = np.random.default_rng(0).standard_normal((200_000, skeleton.NUM_BETA))
  lengths = model.lengths(tf.constant(beta)).numpy()
  mean, std = bone_lengths.anthropometric_statistics()
  np.testing.assert_allclose(lengths.mean(axis=0), mean, rtol=0.02)
  np.testing.assert_allclose(lengths.std(axis=0), std, rtol=0.02)
  # The statistics are the published table's: the index proximal phalanx, 39.8 ± 4.9 mm.
  bone = skeleton.BONE_NAMES.index("index_mcp->index_pip")
  assert (mean[bone], std[bone]) == bone_lengths.PROXIMAL_PHALANX_MM["index"]
  # Shared size plus per-finger correlation.
  correlation = np.corrcoef(lengths, rowvar=False)
  same_finger = np.equal.outer(skeleton.BONE_FINGER, skeleton.BONE_FINGER)
  off_diagonal = ~np.eye(skeleton.NUM_BONES, dtype=bool)
  np.testing.assert_allclose(correlation[same_finger & off_diagonal],
                             bone_lengths.SIZE_CORRELATION + bone_lengths.FINGER_CORRELATION,
                             atol=0.01)
  np.testing.assert_allclose(correlation[~same_finger], bone_lengths.SIZE_CORRELATION, atol=0.01)


REGENERATE_ATOL_MM = 1e-9
"""How far a regenerated model may be from the committed one, in mm: LAPACK's eigh and numpy's
sums round differently with the CPU's vector width (AVX-512 against AVX2), far below this."""


def test_data_file_regenerates_to_the_committed_values(tmp_path):
  output = tmp_path / "bone_model.npz"
  environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
  subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "make_bone_model.py"),
                  f"--output={output}"], check=True, env=environment, capture_output=True)
  regenerated = bone_lengths.BoneLengthModel.load(output)
  committed = bone_lengths.BoneLengthModel.load(bone_lengths.DEFAULT_MODEL_PATH)
  np.testing.assert_allclose(regenerated.mean, committed.mean, rtol=0, atol=REGENERATE_ATOL_MM)
  np.testing.assert_allclose(regenerated.basis, committed.basis, rtol=0,
                             atol=REGENERATE_ATOL_MM)


def test_the_writer_is_deterministic(tmp_path):
  model = bone_lengths.default_bone_model()
  model.save(tmp_path / "a.npz")
  model.save(tmp_path / "b.npz")
  assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_basis_columns_are_scaled_principal_directions():
  model = bone_lengths.default_bone_model()
  mean, std = bone_lengths.anthropometric_statistics()
  covariance = bone_lengths.anthropometric_correlation() * np.outer(std, std)
  np.testing.assert_allclose(model.basis @ model.basis.T, covariance, atol=1e-9)
  np.testing.assert_allclose(model.mean, mean)
  norms = np.linalg.norm(model.basis, axis=0)
  assert np.all(np.diff(norms) <= 0)
  gram = model.basis.T @ model.basis
  np.testing.assert_allclose(gram, np.diag(np.diag(gram)), atol=1e-9)


def test_lengths_keep_dtype_and_check_shape():
  model = bone_lengths.default_bone_model()
  assert model.lengths(tf.zeros((2, 20), tf.float32)).dtype == tf.float32
  np.testing.assert_allclose(model.lengths(np.zeros((1, 20))).numpy()[0], model.mean)
  with pytest.raises(ValueError, match="beta"):
    model.lengths(tf.zeros((2, 10)))


SCALE_PER_COEFFICIENT = 0.05


def _mano_like(template_keypoints_m):
  """A MANO-like model whose first shape direction scales the hand, the second translates it."""
  rng = np.random.default_rng(5)
  num_vertices, num_shapes = 778, 10
  vertices = rng.uniform(-0.05, 0.05, (num_vertices, 3))
  regressor = np.zeros((len(bone_lengths.MANO_JOINTS), num_vertices))
  free = iter(v for v in range(num_vertices)
              if v not in bone_lengths.MANO_FINGERTIP_VERTICES.values())
  for keypoint, name in enumerate(skeleton.KEYPOINT_NAMES):
    position = template_keypoints_m[keypoint]
    if name in bone_lengths.MANO_FINGERTIP_VERTICES:
      vertices[bone_lengths.MANO_FINGERTIP_VERTICES[name]] = position
      continue
    # Each joint is regressed as the mean of two vertices placed symmetrically about it.
    first, second = next(free), next(free)
    offset = rng.uniform(-0.005, 0.005, 3)
    vertices[first], vertices[second] = position + offset, position - offset
    regressor[bone_lengths.MANO_JOINTS[name], [first, second]] = 0.5
  shapedirs = np.zeros((num_vertices, 3, num_shapes))
  shapedirs[:, :, 0] = SCALE_PER_COEFFICIENT * vertices
  shapedirs[:, :, 1] = [0.01, -0.02, 0.005]
  return {"v_template": vertices, "shapedirs": shapedirs,
          "J_regressor": scipy.sparse.csc_matrix(regressor), "f": np.zeros((3, 3), np.int32)}


def _rest_keypoints_m(lengths):
  theta = np.zeros((1, skeleton.NUM_THETA))
  return kinematics.forward_kinematics(theta, lengths[None])["keypoints"].numpy()[0] / 1000.0


def test_from_mano_measures_lengths_in_mm(tmp_path):
  lengths = bone_lengths.default_bone_model().mean
  path = tmp_path / "MANO_RIGHT.pkl"
  path.write_bytes(pickle.dumps(_mano_like(_rest_keypoints_m(lengths)), protocol=2))
  model = bone_lengths.from_mano(path)
  # Lengths are L·(1 + s·β_0): mean L, one principal direction s·L, the translation irrelevant.
  np.testing.assert_allclose(model.mean, lengths, rtol=2e-3)
  np.testing.assert_allclose(model.basis[:, 0], SCALE_PER_COEFFICIENT * lengths, rtol=0.03)
  np.testing.assert_allclose(model.basis[:, 1:], 0.0, atol=1e-6)


def test_from_mano_reads_chumpy_pickles_without_chumpy(tmp_path):
  mano = _mano_like(_rest_keypoints_m(bone_lengths.default_bone_model().mean))
  chumpy, chumpy_ch = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
  ch_class = type("Ch", (), {"__module__": "chumpy.ch"})
  chumpy_ch.Ch = ch_class
  wrapped = ch_class()
  wrapped.__dict__.update(x=mano["shapedirs"], _dirty_vars=set())
  sys.modules.update({"chumpy": chumpy, "chumpy.ch": chumpy_ch})
  try:
    data = pickle.dumps(dict(mano, shapedirs=wrapped), protocol=2)
  finally:
    del sys.modules["chumpy"], sys.modules["chumpy.ch"]
  (tmp_path / "chumpy.pkl").write_bytes(data)
  (tmp_path / "numpy.pkl").write_bytes(pickle.dumps(mano, protocol=2))
  from_chumpy = bone_lengths.from_mano(tmp_path / "chumpy.pkl", num_samples=500)
  from_numpy = bone_lengths.from_mano(tmp_path / "numpy.pkl", num_samples=500)
  np.testing.assert_array_equal(from_chumpy.basis, from_numpy.basis)
  np.testing.assert_array_equal(from_chumpy.mean, from_numpy.mean)
