"""The bone-length model b = b_avg + M_pca·β (β ~ N(0, I)) and where its numbers come from.

Two builders make the same `BoneLengthModel` from a mean and a covariance of the 20 bone lengths
(bone order of `skeleton.BONE_NAMES`, joint centre to joint centre, mm): PCA of the covariance,
each principal direction scaled by its standard deviation, so that b has that mean and that
covariance when β ~ N(0, I).

The default (`default_bone_model`, the shipped `data/bone_model.npz`, regenerated bit-identically
by `scripts/make_bone_model.py`) comes from published anthropometry:

- Phalanx and metacarpal lengths, mean and standard deviation: Buryanov A., Kotiuk V.,
  "Proportions of hand segments", International Journal of Morphology 28(3):755-758, 2010,
  radiographs of 66 adults (`METACARPAL_MM`, `PROXIMAL_PHALANX_MM`, `MIDDLE_PHALANX_MM`,
  `DISTAL_PHALANX_MM`). Radiographic bone lengths stand in for joint-centre distances.
- The carpus between the wrist keypoint and the finger metacarpals: the wrist keypoint is put at
  the head of the capitate, where the wrist's rotation axes pass, so the wrist→MCP bones are the
  capitate's length plus the metacarpal. Capitate length = (carpal height / MC3 length) /
  (carpal height / capitate length) · MC3 = 0.54 / 1.57 · MC3 (Youm et al., J Bone Joint Surg
  Am 60(4):423-431, 1978; Nattrass et al., J Bone Joint Surg Am 76(1):88-94, 1994).
- Our choices, not measurements: `THUMB_CARPUS_MM` (wrist keypoint to the thumb's CMC joint) and
  `FINGERTIP_PAD_MM` (the soft tissue between a distal phalanx's tuft and the fingertip keypoint,
  which datasets put on the skin); bones made of a measured and a chosen part keep the measured
  part's coefficient of variation.
- Correlation: the source gives means and SDs only. We model a real population's structure as a
  shared hand-size factor plus a per-finger factor: corr(b_j, b_k) = `SIZE_CORRELATION` for bones
  of different fingers and `SIZE_CORRELATION + FINGER_CORRELATION` within a finger (hand bone
  lengths are dominated by overall size and phalanges of one ray covary more strongly).

`from_mano` builds the model the way the paper did, from samples of a user's own MANO model.
"""

import functools
import io
import pathlib
import pickle
import zipfile

import numpy as np
import scipy.sparse
import tensorflow as tf

from handvol import shapes
from handvol.hand import skeleton

ANTHROPOMETRY_SOURCE = ("Buryanov A., Kotiuk V., Proportions of hand segments, "
                        "Int. J. Morphol. 28(3):755-758, 2010")
METACARPAL_MM = {"thumb": (46.2, 3.9), "index": (68.1, 6.3), "middle": (64.6, 5.4),
                 "ring": (58.0, 5.1), "little": (53.7, 4.4)}
"""Metacarpal lengths, (mean, SD) in mm, Buryanov & Kotiuk 2010."""
PROXIMAL_PHALANX_MM = {"thumb": (31.6, 3.1), "index": (39.8, 4.9), "middle": (44.6, 3.8),
                       "ring": (41.4, 3.9), "little": (32.7, 2.8)}
MIDDLE_PHALANX_MM = {"index": (22.4, 2.5), "middle": (26.3, 3.0), "ring": (25.7, 3.3),
                     "little": (18.1, 2.5)}
DISTAL_PHALANX_MM = {"thumb": (21.7, 1.6), "index": (15.8, 2.3), "middle": (17.4, 1.9),
                     "ring": (17.3, 2.2), "little": (16.0, 2.5)}

CAPITATE_PER_MC3 = 0.54 / 1.57
"""Capitate length as a fraction of the third metacarpal (Youm 1978 / Nattrass 1994 ratios)."""
THUMB_CARPUS_MM = 30.0
"""Our choice: wrist keypoint (capitate head) to the thumb's CMC joint, mm."""
FINGERTIP_PAD_MM = 4.0
"""Our choice: soft tissue beyond the distal phalanx up to the fingertip keypoint, mm."""
SIZE_CORRELATION = 0.6
FINGER_CORRELATION = 0.2

METRES_TO_MM = 1000.0

MANO_JOINTS = {
    "wrist": 0, "index_mcp": 1, "index_pip": 2, "index_dip": 3,
    "middle_mcp": 4, "middle_pip": 5, "middle_dip": 6,
    "little_mcp": 7, "little_pip": 8, "little_dip": 9,
    "ring_mcp": 10, "ring_pip": 11, "ring_dip": 12,
    "thumb_cmc": 13, "thumb_mcp": 14, "thumb_ip": 15,
}
"""Our keypoint → row of MANO's `J_regressor` (MANO's 16 joints: wrist, then index, middle,
little, ring, thumb, three joints each from the palm outwards)."""
MANO_FINGERTIP_VERTICES = {"thumb_tip": 745, "index_tip": 317, "middle_tip": 444,
                           "ring_tip": 556, "little_tip": 673}
"""MANO has no fingertip joints: our fingertips are these vertices of its 778-vertex mesh (the
tip vertices commonly used to extend MANO's 16 joints to 21 keypoints)."""


class BoneLengthModel:
  """An affine model of the 20 bone lengths: b = mean + basis·β, β ~ N(0, I).

  Attributes:
    mean: numpy `[20]`, b_avg in mm, bone order of `skeleton.BONE_NAMES`.
    basis: numpy `[20, 20]`, M_pca: column i is the i-th principal direction times its standard
      deviation (mm), in decreasing order of variance.
  """

  def __init__(self, mean, basis):
    mean = np.asarray(mean, dtype=np.float64)
    basis = np.asarray(basis, dtype=np.float64)
    if mean.shape != (skeleton.NUM_BONES,):
      raise ValueError(f"mean must have shape [{skeleton.NUM_BONES}], got {mean.shape}")
    if basis.shape != (skeleton.NUM_BONES, skeleton.NUM_BETA):
      raise ValueError(f"basis must have shape [{skeleton.NUM_BONES}, {skeleton.NUM_BETA}], got "
                       f"{basis.shape}")
    self.mean = mean
    self.basis = basis

  @classmethod
  def from_statistics(cls, mean, covariance):
    """The model whose lengths have `mean` `[20]` (mm) and `covariance` `[20, 20]` (mm²)."""
    covariance = np.asarray(covariance, dtype=np.float64)
    variances, directions = np.linalg.eigh(0.5 * (covariance + covariance.T))
    order = np.argsort(variances)[::-1]
    variances, directions = variances[order], directions[:, order]
    # A fixed sign per direction (largest component positive) makes the basis reproducible.
    largest = directions[np.argmax(np.abs(directions), axis=0), np.arange(directions.shape[1])]
    directions = directions * np.where(largest < 0, -1.0, 1.0)
    return cls(mean, directions * np.sqrt(np.maximum(variances, 0.0)))

  @property
  def std(self):
    """numpy `[20]`: the standard deviation of each bone length in mm."""
    return np.sqrt(np.sum(np.square(self.basis), axis=-1))

  def lengths(self, beta, name=None):
    """Bone lengths b = mean + basis·β.

    Args:
      beta: A tensor of shape `[A1, ..., An, 20]`, the coefficients β (unitless).
      name: Optional name scope.

    Returns:
      A tensor of shape `[A1, ..., An, 20]`, bone lengths in mm, of `beta`'s dtype.
    """
    with tf.name_scope(name or "bone_lengths"):
      beta = tf.convert_to_tensor(beta)
      shapes.check_static(beta, tensor_name="beta", has_dim_equals=(-1, skeleton.NUM_BETA))
      basis = tf.constant(self.basis, dtype=beta.dtype)
      return tf.constant(self.mean, dtype=beta.dtype) + tf.linalg.matvec(basis, beta)

  def save(self, path):
    """Writes an `.npz` whose bytes depend only on the numbers (no time stamps)."""
    arrays = {"bone_names": np.array(skeleton.BONE_NAMES), "mean": self.mean,
              "basis": self.basis}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
      for key in sorted(arrays):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, arrays[key], allow_pickle=False)
        archive.writestr(zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0)),
                         buffer.getvalue())

  @classmethod
  def load(cls, path):
    """Reads a model written by `save`; checks that its bone order is ours."""
    with np.load(path, allow_pickle=False) as data:
      if tuple(data["bone_names"]) != skeleton.BONE_NAMES:
        raise ValueError(f"{path} was written for another bone order: {tuple(data['bone_names'])}")
      return cls(data["mean"], data["basis"])


DEFAULT_MODEL_PATH = pathlib.Path(__file__).parent / "data" / "bone_model.npz"


@functools.lru_cache(maxsize=None)
def default_bone_model():
  """The shipped anthropometric model (`data/bone_model.npz`, see the module docstring)."""
  return BoneLengthModel.load(DEFAULT_MODEL_PATH)


def anthropometric_statistics():
  """Mean and SD (mm) of each of the 20 bone lengths from the published tables.

  Returns:
    (mean, std): numpy arrays `[20]` in bone order, mm.
  """
  middle_mc3 = METACARPAL_MM["middle"][0]
  mean = np.zeros(skeleton.NUM_BONES)
  std = np.zeros(skeleton.NUM_BONES)
  for bone in range(skeleton.NUM_BONES):
    finger = skeleton.FINGERS[skeleton.BONE_FINGER[bone]]
    segment = skeleton.FINGER_KEYPOINTS[skeleton.BONE_FINGER[bone]].index(skeleton.BONE_END[bone])
    # The four bones of a finger: thumb: carpus, metacarpal, proximal, distal phalanx; other
    # fingers: carpus + metacarpal, proximal, middle, distal phalanx. The last ends at the tip.
    if finger == "thumb":
      tables = (None, METACARPAL_MM, PROXIMAL_PHALANX_MM, DISTAL_PHALANX_MM)
    else:
      tables = (METACARPAL_MM, PROXIMAL_PHALANX_MM, MIDDLE_PHALANX_MM, DISTAL_PHALANX_MM)
    if tables[segment] is None:
      cv = np.mean([sd / mu for mu, sd in METACARPAL_MM.values()])
      mean[bone], std[bone] = THUMB_CARPUS_MM, cv * THUMB_CARPUS_MM
      continue
    measured, measured_sd = tables[segment][finger]
    added = 0.0
    if segment == 0:
      added = CAPITATE_PER_MC3 * middle_mc3
    elif segment == skeleton.KEYPOINTS_PER_FINGER - 1:
      added = FINGERTIP_PAD_MM
    mean[bone] = measured + added
    std[bone] = measured_sd * mean[bone] / measured
  return mean, std


def anthropometric_correlation():
  """`[20, 20]` correlation of the bone lengths: shared size factor plus per-finger factor."""
  finger = np.array(skeleton.BONE_FINGER)
  same_finger = (finger[:, None] == finger[None, :]).astype(np.float64)
  correlation = SIZE_CORRELATION + FINGER_CORRELATION * same_finger
  np.fill_diagonal(correlation, 1.0)
  return correlation


def anthropometric_model():
  """Builds the default model from the published statistics (what the shipped file holds)."""
  mean, std = anthropometric_statistics()
  return BoneLengthModel.from_statistics(mean, anthropometric_correlation() * np.outer(std, std))


class _MANOUnpickler(pickle.Unpickler):
  """Reads MANO's Python-2 pickles without chumpy installed and with today's scipy."""

  def find_class(self, module, name):
    if module.split(".")[0] == "chumpy":
      return _ChumpyArray
    if module.startswith("scipy.sparse"):
      return getattr(scipy.sparse, name)
    return super().find_class(module, name)


class _ChumpyArray:
  """Stands in for a pickled chumpy `Ch`; its value is the `x` entry of its state."""

  def __new__(cls, *unused_args):
    return super().__new__(cls)

  def __setstate__(self, state):
    self.state = state


def _as_array(value):
  if isinstance(value, _ChumpyArray):
    if "x" not in value.state:
      raise ValueError("a chumpy array in the MANO file holds no plain value ('x'); convert the "
                       "file to numpy arrays with chumpy installed")
    value = value.state["x"]
  if scipy.sparse.issparse(value):
    value = value.toarray()
  return np.asarray(value, dtype=np.float64)


def mano_keypoints(mano):
  """Our 21 keypoints as a linear function of MANO's shape coefficients.

  MANO's joints are J_regressor·vertices and its vertices v_template + shapedirs·β_MANO, so the
  keypoints (joints, plus `MANO_FINGERTIP_VERTICES` for the tips) are affine in β_MANO.

  Args:
    mano: The dict of a MANO model file, with "v_template" `[V, 3]` (metres), "shapedirs"
      `[V, 3, S]` and "J_regressor" `[16, V]` (dense or scipy sparse).

  Returns:
    (template, directions): numpy `[21, 3]` keypoints of the mean shape in mm (converted from
    MANO's metres here, once) and `[21, 3, S]` their change per unit coefficient in mm.
  """
  template = _as_array(mano["v_template"])
  shapedirs = _as_array(mano["shapedirs"])
  regressor = _as_array(mano["J_regressor"])
  selection = np.zeros((skeleton.NUM_KEYPOINTS, template.shape[0]))
  for keypoint, keypoint_name in enumerate(skeleton.KEYPOINT_NAMES):
    if keypoint_name in MANO_JOINTS:
      selection[keypoint] = regressor[MANO_JOINTS[keypoint_name]]
    else:
      selection[keypoint, MANO_FINGERTIP_VERTICES[keypoint_name]] = 1.0
  return (METRES_TO_MM * selection @ template,
          METRES_TO_MM * np.einsum("kv,vcs->kcs", selection, shapedirs))


def from_mano(path, num_samples=10000, seed=0):
  """Builds the bone-length model from a MANO model file, as the paper did.

  Samples `num_samples` hands with MANO shape coefficients β_MANO ~ N(0, I), measures our 20
  bone lengths on their keypoints (`mano_keypoints`; MANO's zero pose, lengths do not depend on
  pose) and fits the model to their mean and covariance. MANO has 10 shape coefficients, so at
  most 10 columns of the basis are non-zero.

  Args:
    path: A MANO pickle (`MANO_RIGHT.pkl`), as distributed (chumpy arrays; chumpy need not be
      installed) or with plain numpy arrays.
    num_samples: Number of sampled hands.
    seed: Seed of the sampler; the same file and seed give the same model.

  Returns:
    A `BoneLengthModel`.
  """
  with open(path, "rb") as stream:
    mano = _MANOUnpickler(stream, encoding="latin1").load()
  template, directions = mano_keypoints(mano)
  coefficients = np.random.default_rng(seed).standard_normal((num_samples, directions.shape[-1]))
  keypoints = template + np.einsum("kcs,ns->nkc", directions, coefficients)
  start = list(skeleton.BONE_START)
  end = list(skeleton.BONE_END)
  lengths = np.linalg.norm(keypoints[:, end] - keypoints[:, start], axis=-1)
  return BoneLengthModel.from_statistics(np.mean(lengths, axis=0), np.cov(lengths, rowvar=False))
