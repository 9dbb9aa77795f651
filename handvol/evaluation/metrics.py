"""Metrics of the paper (SPEC §10) on arrays of keypoints, in mm.

Evaluation runs offline on whole test sets and relies on scipy (a k-d tree for MDPC, k-means
for bone-length consistency), so these functions take and return numpy arrays (float64, so
that means over thousands of frames reproduce published numbers to 0.001 mm). Keypoints are
camera-frame xyz in mm, shape `[F, J, 3]` for F frames of J keypoints.
"""

import warnings

import numpy as np
from scipy import spatial
from scipy.cluster import vq

from handvol.geometry import camera
from handvol.hand import skeleton

THRESHOLDS_MM = np.arange(0, 81)
"""Thresholds T (mm) of the fraction-of-frames curve, 0…80 inclusive, as in the paper's Fig. 5."""

KMEANS_SEED = 0
"""Seed of k-means++ initialisation, so that F1 scores are repeatable."""

KMEANS_ITERATIONS = 50
"""Lloyd iterations of `scipy.cluster.vq.kmeans2` (it runs exactly this many)."""

MDPC_CHUNK_FRAMES = 256
"""Frames back-projected per call, bounding the memory of the point clouds (F·H·W·3)."""


def _check_keypoints(keypoints, arg_name):
  keypoints = np.asarray(keypoints, dtype=np.float64)
  if keypoints.ndim != 3 or keypoints.shape[-1] != 3:
    raise ValueError(
        f"{arg_name} must have shape [frames, joints, 3], got shape {keypoints.shape}")
  if not np.all(np.isfinite(keypoints)):
    frames = np.unique(np.nonzero(~np.isfinite(keypoints))[0])
    raise ValueError(f"{arg_name} holds NaN or Inf values in {frames.size} frames, the first "
                     f"at frame {frames[0]}")
  return keypoints


def joint_errors(predicted, truth):
  """Euclidean distance of each predicted keypoint to its true position.

  Args:
    predicted: An array of shape `[F, J, 3]`, xyz in mm.
    truth: An array of shape `[F, J, 3]`, xyz in mm, same frame and keypoint order.

  Returns:
    A float64 array of shape `[F, J]`, errors in mm.
  """
  predicted, truth = _check_pair(predicted, truth)
  return np.linalg.norm(predicted - truth, axis=-1)


def _check_pair(predicted, truth):
  """Both keypoint arrays checked (`_check_keypoints`) and of one shape, as float64."""
  predicted = _check_keypoints(predicted, "predicted")
  truth = _check_keypoints(truth, "truth")
  if predicted.shape != truth.shape:
    raise ValueError(f"predicted and truth must have the same shape, got {predicted.shape} "
                     f"and {truth.shape}")
  return predicted, truth


ALIGNMENTS = ("translation", "rigid")


def aligned_errors(predicted, truth, alignment="rigid"):
  """Joint errors after moving each predicted hand onto its truth: what is left once the
  global pose's error is taken out.

  "translation" shifts each frame's predicted keypoints so that their mean is the truth's;
  "rigid" also rotates them by the least-squares rotation (Kabsch: the SVD of the centred
  keypoints' cross-covariance, a reflection excluded), as the Procrustes-aligned error of
  the body and hand pose literature, without a scale.

  Args:
    predicted: An array of shape `[F, J, 3]`, xyz in mm.
    truth: An array of shape `[F, J, 3]`, xyz in mm.
    alignment: One of `ALIGNMENTS`.

  Returns:
    A float64 array of shape `[F, J]`, errors in mm.
  """
  if alignment not in ALIGNMENTS:
    raise ValueError(f"alignment must be one of {ALIGNMENTS}, got {alignment!r}")
  predicted, truth = _check_pair(predicted, truth)
  centred = predicted - predicted.mean(axis=1, keepdims=True)
  target = truth - truth.mean(axis=1, keepdims=True)
  if alignment == "rigid":
    centred = centred @ np.swapaxes(best_rotations(predicted, truth), -1, -2)
  return np.linalg.norm(centred - target, axis=-1)


def best_rotations(source, target):
  """Per frame the rotation that best turns one point set onto another (Kabsch).

  Args:
    source: An array of shape `[F, P, 3]`.
    target: An array of shape `[F, P, 3]`, the same points' desired positions.

  Returns:
    A float64 array `[F, 3, 3]` of proper rotations R (no reflection) minimising
    Σ_p |R·(s_p − s̄) − (t_p − t̄)|², with s̄ and t̄ each frame's means: the SVD of the centred
    points' cross-covariance.
  """
  source = np.asarray(source, np.float64)
  target = np.asarray(target, np.float64)
  if source.shape != target.shape or source.ndim != 3 or source.shape[-1] != 3:
    raise ValueError(f"source and target must both have shape [F, P, 3], got {source.shape} "
                     f"and {target.shape}")
  source = source - source.mean(axis=1, keepdims=True)
  target = target - target.mean(axis=1, keepdims=True)
  u, _, vt = np.linalg.svd(np.einsum("fji,fjk->fik", source, target))
  sign = np.sign(np.linalg.det(u @ vt))
  u[:, :, -1] *= np.where(sign == 0, 1.0, sign)[:, np.newaxis]
  return np.swapaxes(u @ vt, -1, -2)


def _select(errors, indices):
  errors = np.asarray(errors, dtype=np.float64)
  if errors.ndim != 2:
    raise ValueError(f"errors must have shape [frames, joints], got shape {errors.shape}")
  return errors if indices is None else errors[:, list(indices)]


def mean_error(errors, indices=None):
  """Mean joint error over frames and the keypoints `indices` (all when None).

  Args:
    errors: An array of shape `[F, J]`, mm (from `joint_errors`).
    indices: Keypoint positions to average over, e.g. `protocols.MATCH11.indices`.

  Returns:
    A float, mm.
  """
  return float(np.mean(_select(errors, indices)))


def per_joint_errors(errors):
  """Mean error of each keypoint over the frames: `[F, J]` → `[J]`, mm."""
  return np.mean(_select(errors, None), axis=0)


def fraction_within(errors, indices=None, thresholds=THRESHOLDS_MM):
  """Percentage of frames whose maximum joint error is ≤ T (inclusive), for each T.

  Args:
    errors: An array of shape `[F, J]`, mm.
    indices: Keypoint positions the maximum runs over (all when None).
    thresholds: An array of shape `[T]`, mm.

  Returns:
    A float64 array of shape `[T]`, percent of frames in [0, 100].
  """
  worst = np.max(_select(errors, indices), axis=1)
  thresholds = np.asarray(thresholds, dtype=np.float64)
  return 100.0 * np.mean(worst[np.newaxis, :] <= thresholds[:, np.newaxis], axis=1)


def mdpc(predicted, depth, intrinsics):
  """Minimum distance to the point cloud: per keypoint, the distance to the nearest 3D point
  of the frame's back-projected depth.

  Args:
    predicted: An array of shape `[F, J, 3]`, camera-frame xyz in mm.
    depth: An array of shape `[F, H, W]`, the depth crops in mm (0 = no measurement).
    intrinsics: An array of shape `[F, 4]` or `[4]`, the crops' (fx, fy, cx, cy).

  Returns:
    A float64 array of shape `[F, J]`, mm; NaN for the keypoints of frames without a valid
    depth pixel (`summarize_mdpc` leaves them out and counts them).
  """
  predicted = _check_keypoints(predicted, "predicted")
  depth = np.asarray(depth, dtype=np.float64)
  num_frames = predicted.shape[0]
  if depth.ndim != 3 or depth.shape[0] != num_frames:
    raise ValueError(f"depth must have shape [{num_frames}, height, width] to match predicted, "
                     f"got shape {depth.shape}")
  intrinsics = np.broadcast_to(np.asarray(intrinsics, dtype=np.float64), (num_frames, 4))
  distances = np.full(predicted.shape[:2], np.nan)
  for start in range(0, num_frames, MDPC_CHUNK_FRAMES):
    stop = min(start + MDPC_CHUNK_FRAMES, num_frames)
    clouds = camera.depth_to_points(depth[start:stop], intrinsics[start:stop]).numpy()
    for offset, cloud in enumerate(clouds):
      frame = start + offset
      points = cloud[depth[frame] > 0]
      if len(points):
        distances[frame] = spatial.cKDTree(points).query(predicted[frame])[0]
  return distances


def summarize_mdpc(distances):
  """Median and mean of MDPC distances over all keypoints of the frames that have depth.

  Args:
    distances: An array of shape `[F, J]` from `mdpc`.

  Returns:
    A dict: "mdpc_median_mm", "mdpc_mean_mm" (None when no frame has depth) and
    "mdpc_frames_without_depth".
  """
  distances = np.asarray(distances, dtype=np.float64)
  missing = np.all(np.isnan(distances), axis=1)
  valid = distances[~missing]
  return {
      "mdpc_median_mm": float(np.median(valid)) if valid.size else None,
      "mdpc_mean_mm": float(np.mean(valid)) if valid.size else None,
      "mdpc_frames_without_depth": int(np.sum(missing)),
  }


PALM_TRIANGLE = tuple(skeleton.KEYPOINT_NAMES.index(name)
                      for name in ("wrist", "index_mcp", "little_mcp"))
"""Keypoints (hand21 order) whose triangle gives the palm's normal in `palm_normal_angles`."""


def palm_normal_angles(predicted, truth, triangle=PALM_TRIANGLE):
  """Angle between the predicted and the true palm normal of each frame.

  The palm normal is n = (b − a) × (c − a) for the keypoints (a, b, c) = `triangle` (wrist,
  index MCP, little MCP): it points out of the palm or out of the back of the hand, so an angle
  above 90° means the prediction shows the other side of the hand to the camera (a global
  rotation error that fitting the fingertips alone does not reveal).

  Args:
    predicted: An array of shape `[F, J, 3]`, xyz in mm (J ≥ the largest index of `triangle`).
    truth: An array of shape `[F, J, 3]`, xyz in mm.
    triangle: Three keypoint indices.

  Returns:
    A float64 array of shape `[F]`, degrees in [0, 180]; NaN where either triangle is
    degenerate (collinear or coincident keypoints).
  """
  predicted = _check_keypoints(predicted, "predicted")
  truth = _check_keypoints(truth, "truth")
  if predicted.shape != truth.shape:
    raise ValueError(f"predicted and truth must have the same shape, got {predicted.shape} "
                     f"and {truth.shape}")

  def normal(keypoints):
    a, b, c = (keypoints[:, index] for index in triangle)
    return np.cross(b - a, c - a)

  first, second = normal(predicted), normal(truth)
  norms = np.linalg.norm(first, axis=-1) * np.linalg.norm(second, axis=-1)
  with np.errstate(invalid="ignore", divide="ignore"):
    cosine = np.where(norms > 0, np.sum(first * second, axis=-1) / norms, np.nan)
  return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def palm_flipped_percent(predicted, truth):
  """Percentage of frames whose predicted palm normal is more than 90° from the true one
  (`palm_normal_angles`; degenerate frames are left out). A float, or None without frames."""
  angles = palm_normal_angles(predicted, truth)
  angles = angles[np.isfinite(angles)]
  return float(100.0 * np.mean(angles > 90.0)) if angles.size else None


def bone_lengths(keypoints, parents=skeleton.KEYPOINT_PARENTS):
  """Lengths of the bones of a kinematic tree: bone k joins keypoint k + 1 to its parent.

  Args:
    keypoints: An array of shape `[F, J, 3]`, xyz in mm, J = len(parents).
    parents: The parent of each keypoint, -1 for the root (keypoint 0).

  Returns:
    A float64 array of shape `[F, J - 1]`, mm.
  """
  keypoints = _check_keypoints(keypoints, "keypoints")
  parents = np.asarray(parents)
  if keypoints.shape[1] != len(parents):
    raise ValueError(f"keypoints must have {len(parents)} joints in axis 1 to match parents, "
                     f"got shape {keypoints.shape}")
  children = np.arange(1, len(parents))
  return np.linalg.norm(keypoints[:, children] - keypoints[:, parents[children]], axis=-1)


def _two_subjects(subjects):
  ids = np.unique(subjects)
  if ids.size != 2:
    raise ValueError(f"subjects must hold exactly two subject ids, got {ids.tolist()}")
  return ids


def _subject_features(features, subjects):
  """Float64 `[F, D]` features and `[F]` subjects, checked; the two subject ids."""
  features = np.asarray(features, dtype=np.float64)
  subjects = np.asarray(subjects)
  ids = _two_subjects(subjects)
  if features.ndim != 2 or features.shape[0] != subjects.shape[0]:
    raise ValueError(f"features must have shape [frames, dims] with as many frames as subjects "
                     f"({subjects.shape[0]}), got shape {features.shape}")
  return features, subjects, ids


def _f1(selected, relevant):
  hits = np.sum(selected & relevant)
  if hits == 0:
    return 0.0
  precision = hits / np.sum(selected)
  recall = hits / np.sum(relevant)
  return float(2 * precision * recall / (precision + recall))


def matched_f1(clusters, subjects):
  """F1 score per subject of a two-cluster split, under the better cluster-to-subject matching.

  Cluster c stands for subject s; precision = |c ∩ s| / |c|, recall = |c ∩ s| / |s|,
  F1 = 2·precision·recall / (precision + recall). Of the two one-to-one matchings the one with
  the larger sum of F1 scores is used (the identity on ties).

  Args:
    clusters: An int array of shape `[F]` with values in {0, 1}.
    subjects: An array of shape `[F]` holding exactly two distinct subject ids.

  Returns:
    A dict subject id → F1 in [0, 1], subjects in ascending order.
  """
  clusters = np.asarray(clusters)
  subjects = np.asarray(subjects)
  if clusters.shape != subjects.shape or clusters.ndim != 1:
    raise ValueError(f"clusters and subjects must have the same shape [frames], got "
                     f"{clusters.shape} and {subjects.shape}")
  ids = _two_subjects(subjects)
  best = None
  for order in ((0, 1), (1, 0)):
    scores = {s.item(): _f1(clusters == c, subjects == s) for s, c in zip(ids, order)}
    if best is None or sum(scores.values()) > sum(best.values()):
      best = scores
  return best


def subject_mean_distance(features, subjects):
  """How far apart a method puts two subjects on average: ‖mean_s1 − mean_s2‖.

  With the 20 bone lengths as features, this tells a method that tells hands apart
  (close to the true hands' distance) from one that predicts one hand shape for all (≈ 0),
  whatever the frame-to-frame noise that `kmeans_f1` also sees.

  Args:
    features: An array of shape `[F, D]`, e.g. the 20 predicted bone lengths in mm.
    subjects: An array of shape `[F]` holding exactly two distinct subject ids.

  Returns:
    A float, in the features' unit (mm for bone lengths).
  """
  features, subjects, (first, second) = _subject_features(features, subjects)
  return float(np.linalg.norm(features[subjects == first].mean(axis=0)
                              - features[subjects == second].mean(axis=0)))


def kmeans_f1(features, subjects, seed=KMEANS_SEED):
  """Bone-length consistency: k-means (k = 2) on per-frame feature vectors of two subjects,
  scored by `matched_f1`.

  Args:
    features: An array of shape `[F, D]`, e.g. the 20 predicted bone lengths in mm.
    subjects: An array of shape `[F]` holding exactly two distinct subject ids.
    seed: Seed of the k-means++ initialisation.

  Returns:
    A dict subject id → F1 in [0, 1]. When every frame has the same vector (a method that
    predicts one hand shape for all) they form one cluster, which F1 scores like any split.
  """
  features, subjects, _ = _subject_features(features, subjects)
  if np.all(features == features[0]):
    # k-means++ cannot seed a second centre among identical points (its weights are 0/0).
    return matched_f1(np.zeros(len(features), dtype=int), subjects)
  with warnings.catch_warnings():
    # scipy warns when a cluster ends empty; here that is a result, not a failure.
    warnings.filterwarnings("ignore", message="One of the clusters is empty")
    _, clusters = vq.kmeans2(features, 2, iter=KMEANS_ITERATIONS, minit="++",
                             rng=np.random.default_rng(seed))
  return matched_f1(clusters, subjects)


ROLL_BINS_DEG = ((0.0, 60.0), (60.0, 120.0), (120.0, 180.0))
"""Bins of the hand's in-image roll |r| in degrees (`image_roll_degrees`)."""

VIEW_CLASSES = ("palm", "side", "back")
"""Which side of the hand faces the camera (`view_classes`)."""


def image_roll_degrees(keypoints):
  """The hand's roll in the image: the angle of wrist → middle MCP against "up".

  Args:
    keypoints: An array of shape `[F, 21, 3]` (hand21 order), xyz in mm, camera frame (x right,
      y down).

  Returns:
    `[F]` degrees in (−180, 180]: 0 with the fingers up in the image, 90 pointing right, ±180
    down. A direction along the optical axis (fingers at the camera) gives the angle of what
    little remains of it in the image.
  """
  keypoints = _check_keypoints(keypoints, "keypoints")
  direction = keypoints[:, skeleton.KEYPOINT_NAMES.index("middle_mcp")] - keypoints[:, 0]
  return np.degrees(np.arctan2(direction[:, 0], -direction[:, 1]))


def roll_bin_indices(roll_degrees, bins=ROLL_BINS_DEG):
  """The index in `bins` of each |roll| (`[F]` ints; the last bin includes 180°)."""
  magnitude = np.abs(np.asarray(roll_degrees, np.float64))
  edges = np.array([low for low, _ in bins[1:]])
  return np.searchsorted(edges, magnitude, side="right")


def view_classes(keypoints, side_deg=30.0):
  """Which side of each hand faces the camera: "palm", "side" or "back".

  The palm's outward normal is n = (index MCP − wrist) × (little MCP − wrist) (for the right hand
  of `handvol.hand`, whose rest pose shows the palm with n towards the camera). A frame is "palm"
  when n is within 90° − `side_deg` of the direction to the camera, "back" when within that of
  the opposite, and "side" otherwise.

  Args:
    keypoints: An array of shape `[F, 21, 3]`, xyz in mm, camera frame.
    side_deg: Half-width in degrees of the band of side views about the image plane (30°: a
      normal uniform on the sphere is then "side" in half of the frames, "palm" and "back" in
      a quarter each).

  Returns:
    A numpy array of `[F]` strings of `VIEW_CLASSES`.
  """
  keypoints = _check_keypoints(keypoints, "keypoints")
  a, b, c = (keypoints[:, index] for index in PALM_TRIANGLE)
  normal = np.cross(b - a, c - a)
  towards_camera = -normal[:, 2] / np.maximum(np.linalg.norm(normal, axis=-1), 1e-12)
  limit = np.sin(np.radians(side_deg))
  return np.where(towards_camera > limit, "palm",
                  np.where(towards_camera < -limit, "back", "side"))


def jitter(keypoints):
  """Mean frame-to-frame acceleration of keypoints over a sequence: the mean over frames and
  keypoints of ‖x_{t+1} − 2·x_t + x_{t−1}‖ (mm per frame²), 0 for fewer than 3 frames.

  Noise independent from frame to frame adds to it in proportion to its size; smooth motion
  (the truth's) adds little, so a filter's gain is the ratio of two jitters.

  Args:
    keypoints: An array of shape `[F, J, 3]`, consecutive frames of one sequence, mm.

  Returns:
    A float, mm per frame².
  """
  keypoints = _check_keypoints(keypoints, "keypoints")
  if len(keypoints) < 3:
    return 0.0
  second = keypoints[2:] - 2.0 * keypoints[1:-1] + keypoints[:-2]
  return float(np.mean(np.linalg.norm(second, axis=-1)))
