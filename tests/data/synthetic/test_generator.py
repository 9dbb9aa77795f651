"""Tests of synthetic frames: geometry against the surfaces, sensor, labels, records."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from scipy import spatial

from handvol.data import records
from handvol.data import synthetic
from handvol.data.synthetic import labels
from handvol.data.synthetic import poses
from handvol.data.synthetic import raycast
from handvol.data.synthetic import sensor
from handvol.data.synthetic import subjects
from handvol.hand import kinematics
from handvol.hand import limits
from handvol.hand import skeleton

CONFIG = synthetic.SyntheticConfig(batch_size=8)
NOISELESS = dataclasses.replace(CONFIG, sensor=sensor.NOISELESS)
TIPS = [k for k in skeleton.LAB6 if k != skeleton.ROOT]
FINGER_TIPS = [k for k in TIPS if not skeleton.KEYPOINT_NAMES[k].startswith("thumb")]


def _frames(num, config=CONFIG, seed=0, subject_set="handid_like"):
  return list(synthetic.generate_frames(num, subject_set, seed=seed, config=config))


def _back_project(frame, depth):
  fx, fy, cx, cy = CONFIG.intrinsics
  rows, columns = np.nonzero(depth)
  z = depth[rows, columns].astype(np.float64)
  points = np.stack([(columns - cx) * z / fx, (rows - cy) * z / fy, z], axis=-1)
  return points, rows, columns


def _view(back, prototype, cone_deg=0.0):
  return dataclasses.replace(
      NOISELESS,
      view=dataclasses.replace(CONFIG.view, cone_deg=cone_deg, back_prob=float(back),
                               roll_deg=0.0, wrist_flexion_deg=(0.0, 0.0),
                               wrist_deviation_deg=(0.0, 0.0)),
      pose=poses.PoseConfig(prototypes=(prototype,), blend_max=0.0, hand_noise=0.0,
                            finger_noise=0.0, joint_noise=0.0, abduction_noise=0.0))


def test_noiseless_pixels_lie_on_the_surface_within_quantisation(surface_distance):
  for frame in _frames(4, NOISELESS):
    points, _, _ = _back_project(frame, frame["depth"])
    assert len(points) > 2000
    distance = np.abs(surface_distance(points, frame["surface"]))
    # 0.5 mm of rounding along a ray of length ≤ 1.3 per mm of depth, plus float32.
    assert np.max(distance) < 0.5 * 1.3 + 0.1
    assert np.all(frame["clean_depth"][frame["depth"] > 0] > 0)


def test_noisy_pixels_lie_on_the_surface_within_the_noise(surface_distance):
  for frame in _frames(4):
    measured = frame["depth"]
    valid = measured > 0
    assert np.all(frame["clean_depth"][valid] > 0)
    clean = frame["clean_depth"][valid]
    sigma = sensor.noise_sigma(clean, CONFIG.sensor)
    residual = measured[valid] - clean
    assert np.max(np.abs(residual) - 5.0 * sigma) < 0.5
    # The residual's spread matches σ(z) (with 1/12 mm² of quantisation).
    normalised = residual / np.sqrt(sigma ** 2 + 1.0 / 12.0)
    assert np.std(normalised) == pytest.approx(1.0, abs=0.1)
    points, _, _ = _back_project(frame, measured)
    distance = np.abs(surface_distance(points, frame["surface"]))
    assert np.percentile(distance, 99) < 1.3 * (3.0 * sigma.max() + 0.5)


def test_sensor_drops_grazing_and_edge_pixels():
  centre, radius = np.array([0.0, 0.0, 600.0]), 40.0
  surface = raycast.Surface(centre[None], centre[None], np.array([radius]), np.array([radius]),
                            np.zeros((0, 3)), np.zeros((0, 3, 3)), np.zeros((0, 3)))
  image = raycast.render(surface, CONFIG.intrinsics, CONFIG.height, CONFIG.width)
  config = dataclasses.replace(CONFIG.sensor, holes_per_frame=0.0, dropout=0.0)
  hit = image["depth"] > 0
  grazing = hit & (image["cos_incidence"] < config.grazing_cos)
  facing = hit & (image["cos_incidence"] > 0.8)
  assert grazing.sum() > 20
  missing = []
  for seed in range(5):
    measured = sensor.apply_sensor(image["depth"], image["cos_incidence"], CONFIG.intrinsics,
                                   config, np.random.default_rng(seed))
    assert not measured[grazing].any()
    assert not measured[~hit].any()
    missing.append(np.mean(measured[facing] == 0))
  assert np.mean(missing) < 0.01


def test_background_plane_fills_the_frame_behind_the_hand():
  config = dataclasses.replace(CONFIG, sensor=dataclasses.replace(CONFIG.sensor,
                                                                  background_prob=1.0))
  frame = _frames(1, config)[0]
  empty = frame["clean_depth"] == 0
  assert np.mean(frame["depth"][empty] > 0) > 0.9
  hand = ~empty
  assert np.all(frame["depth"][hand & (frame["depth"] > 0)]
                < frame["clean_depth"][hand & (frame["depth"] > 0)] + 10.0)
  plane, cos = sensor.background_plane(frame["clean_depth"], CONFIG.intrinsics, config.sensor,
                                       np.random.default_rng(0))
  gap = config.sensor.background_gap_mm[0]
  assert np.all(plane[hand] > frame["clean_depth"][hand] + gap * cos.min())
  assert np.all((cos > 0) & (cos <= 1))


def test_visibility_agrees_with_the_zbuffer():
  for frame in _frames(8):
    columns = np.round(frame["truth_uv"][:, 0]).astype(int)
    rows = np.round(frame["truth_uv"][:, 1]).astype(int)
    seen = frame["clean_depth"][rows, columns]
    in_front = frame["truth_xyz"][:, 2] - seen
    visible = frame["visible"] > 0
    # Occluded keypoints have a surface well in front; visible ones only their own skin.
    assert np.all(in_front[~visible] > 10.0)
    assert np.all((seen[visible] == 0) | (in_front[visible] < 2 * 13.0 + 5.0))


def test_open_palm_shows_all_keypoints_and_a_fist_from_behind_hides_its_tips():
  palm = _frames(4, _view(back=False, prototype="open"))
  assert all(frame["visible"].all() for frame in palm)
  fist = _frames(4, _view(back=True, prototype="fist"))
  for frame in fist:
    assert not frame["visible"][FINGER_TIPS].any()
    assert frame["visible"][skeleton.ROOT] == 1


def test_wrong_labels_have_the_configured_offset_along_the_dorsal_normals():
  frames = _frames(24, NOISELESS)
  errors = np.stack([f["him_xyz"] - f["truth_xyz"] for f in frames])
  normals = np.stack([np.take(f["bone_frames"][:, :, 1], labels.KEYPOINT_BONES, axis=0)
                      for f in frames])
  along = np.sum(errors * normals, axis=-1)
  across = errors - along[..., None] * normals
  config = CONFIG.labels
  assert np.mean(along) == pytest.approx(config.him_offset_mm, abs=0.3)
  assert np.std(along) == pytest.approx(config.him_noise_mm, rel=0.1)
  assert np.sqrt(np.mean(np.sum(across ** 2, -1)) / 2) == pytest.approx(config.him_noise_mm,
                                                                         rel=0.1)


def test_wrong_labels_depend_on_viewpoint_and_pose():
  fingers = [k for k in range(skeleton.NUM_KEYPOINTS)
             if not skeleton.KEYPOINT_NAMES[k].startswith("thumb")]

  def depth_offset(frames):
    return np.mean([f["him_xyz"][fingers, 2] - f["truth_xyz"][fingers, 2] for f in frames])

  # The back of the hand to the camera: sensors on the back sit nearer to it (the thumb's nail
  # faces sideways in a flat hand, so it is left out).
  offset = CONFIG.labels.him_offset_mm
  assert depth_offset(_frames(8, _view(True, "open"))) == pytest.approx(-offset, abs=1.5)
  assert depth_offset(_frames(8, _view(False, "open"))) == pytest.approx(offset, abs=1.5)

  def tip_alignment(frames):
    """cos between the fingertips' error and the palm's dorsal normal."""
    cosines = []
    for f in frames:
      dorsal = f["bone_frames"][labels.KEYPOINT_BONES[skeleton.ROOT]][:, 1]
      error = f["him_xyz"][FINGER_TIPS] - f["truth_xyz"][FINGER_TIPS]
      cosines.append(error @ dorsal / np.linalg.norm(error, axis=-1))
    return np.mean(cosines)

  assert tip_alignment(_frames(4, _view(False, "open"))) > 0.9
  assert tip_alignment(_frames(4, _view(False, "fist"))) < 0.2


def test_wrong_labels_lie_farther_from_the_point_cloud_when_the_palm_faces_the_camera():
  frames = _frames(8, _view(False, "open", cone_deg=30.0))
  truth, wrong = [], []
  for frame in frames:
    points, _, _ = _back_project(frame, frame["depth"])
    tree = spatial.cKDTree(points)
    truth.append(tree.query(frame["truth_xyz"])[0])
    wrong.append(tree.query(frame["him_xyz"])[0])
  assert np.median(wrong) > np.median(truth) + 5.0


def test_poses_stay_within_the_joint_limits():
  angles = poses.sample_articulations(2000, poses.PoseConfig(), np.random.default_rng(0))
  assert np.all(angles >= limits.LOWER - 1e-12) and np.all(angles <= limits.UPPER + 1e-12)
  # Fingers move together: flexions of one finger's joints correlate.
  index = [skeleton.ARTICULATIONS.index(f"index_{j}_flexion") for j in ("base", "joint1")]
  assert np.corrcoef(angles[:, index[0]], angles[:, index[1]])[0, 1] > 0.5


def test_broad_poses_stay_within_the_limits_and_cover_more_of_them():
  rng = np.random.default_rng(0)
  broad = poses.sample_articulations(4000, poses.POSE_PRESETS["broad"], rng)
  classic = poses.sample_articulations(4000, poses.POSE_PRESETS["prototypes"],
                                       np.random.default_rng(0))
  assert np.all(broad >= limits.LOWER - 1e-12) and np.all(broad <= limits.UPPER + 1e-12)
  # Fingers fanned out: the index turned radially and the little finger ulnarly by more than
  # half their ranges together, which the five prototypes (plus noise) almost never give.
  index = skeleton.ARTICULATIONS.index("index_base_abduction")
  little = skeleton.ARTICULATIONS.index("little_base_abduction")

  def fanned(angles):
    return np.mean((angles[:, index] > 0.5 * limits.UPPER[index])
                   & (angles[:, little] < 0.5 * limits.LOWER[little]))

  assert fanned(broad) > 0.05 and fanned(classic) < 0.01
  # Free hands: each finger's middle flexion spreads over its whole range; its last joint still
  # follows it (joint 2 ≈ 0.7 of joint 1's fraction).
  pip = skeleton.ARTICULATIONS.index("middle_joint1_flexion")
  dip = skeleton.ARTICULATIONS.index("middle_joint2_flexion")
  assert np.std(broad[:, pip]) > np.std(classic[:, pip])
  assert np.corrcoef(broad[:, pip], broad[:, dip])[0, 1] > 0.5


def test_the_default_pose_distribution_is_the_five_prototypes():
  config = poses.PoseConfig()
  assert config.prototypes == ("open", "fist", "point", "pinch", "grasp")
  assert config.uniform_fraction == 0.0
  assert synthetic.make_config().pose == poses.POSE_PRESETS["prototypes"] == config
  assert synthetic.make_config(articulations="broad").pose == poses.POSE_PRESETS["broad"]
  with pytest.raises(ValueError, match="articulations must be one of"):
    synthetic.make_config(articulations="wild")


def test_sampled_rotations_map_to_the_kinematics_euler_angles():
  rotations = poses.sample_rotations(16, poses.ViewConfig(), np.random.default_rng(1))
  euler = poses.rotation_to_euler(rotations)
  np.testing.assert_allclose(kinematics.euler_to_matrix(tf.constant(euler)).numpy(), rotations,
                             atol=1e-9)
  # The palm normal stays within the cone of ±the optical axis.
  dorsal = rotations @ skeleton.DORSAL
  cone = np.cos(np.radians(poses.ViewConfig().cone_deg))
  assert np.all(np.abs(dorsal[:, 2]) >= cone - 1e-9)


def test_subjects_are_reproducible_and_distinct():
  first = subjects.subject_set("handid_like")
  again = subjects.subject_set("handid_like")
  assert [s.subject_id for s in first] == list(subjects.SUBJECT_SETS["handid_like"])
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a.lengths, b.lengths)
  lengths = np.stack([s.lengths for s in first])
  assert np.all(np.std(lengths, axis=0) > 0.5)
  assert len({round(s.palm_thickness_scale, 6) for s in first}) == len(first)
  assert not set(subjects.SUBJECT_SETS["unseen_test"]) & set(
      subjects.SUBJECT_SETS["handid_like"] + subjects.SUBJECT_SETS["nyu_like"])
  with pytest.raises(ValueError, match="unknown subject set"):
    subjects.subject_set("nope")


def test_generation_is_reproducible_from_the_seed():
  a = list(synthetic.generate(10, "handid_like", "lab6_2d", seed=5, config=CONFIG))
  b = list(synthetic.generate(10, "handid_like", "lab6_2d", seed=5, config=CONFIG))
  c = list(synthetic.generate(10, "handid_like", "lab6_2d", seed=6, config=CONFIG))
  for x, y in zip(a, b):
    for key in x:
      np.testing.assert_array_equal(x[key], y[key])
  assert not np.array_equal(a[0]["depth"], c[0]["depth"])
  # A batch is reproducible on its own (parallel generation).
  second = list(synthetic.generate_frames(2, "handid_like", seed=5, config=CONFIG,
                                          first_batch=1))
  np.testing.assert_array_equal(second[0]["depth"], a[CONFIG.batch_size]["depth"])


@pytest.mark.parametrize("mode, kind, count", [("lab6_2d", records.KIND_2D, 6),
                                               ("lab6_3d", records.KIND_3D, 6),
                                               ("all21_3d", records.KIND_3D, 21),
                                               ("him_wrong_3d", records.KIND_3D, 21)])
def test_records_follow_the_contract(mode, kind, count):
  for record in synthetic.generate(3, "unseen_test", mode, seed=1, config=CONFIG):
    records.validate_record(record)
    assert set(record) == set(records.RECORD_SPEC)
    assert np.count_nonzero(record["kind"] == kind) == count
    assert np.count_nonzero(record["kind"]) == count
    assert record["dataset"] == records.DATASET_IDS["synthetic"]
    assert record["has_truth"] == 1
    assert record["subject"] in subjects.SUBJECT_SETS["unseen_test"]
    if mode == "all21_3d":
      np.testing.assert_array_equal(record["xyz"], record["truth_xyz"])
    if mode == "him_wrong_3d":
      error = np.linalg.norm(record["xyz"] - record["truth_xyz"], axis=-1)
      assert 5.0 < np.mean(error) < 25.0
  with pytest.raises(ValueError, match="label_mode"):
    next(synthetic.generate(1, label_mode="bad"))


def test_dataset_yields_records_with_the_signature():
  data = synthetic.dataset("nyu_like", "lab6_3d", seed=2, num_frames=3, config=CONFIG)
  batch = next(iter(data.batch(3)))
  assert batch["depth"].shape == (3, CONFIG.height, CONFIG.width)
  assert batch["kind"].dtype == tf.int32
  assert batch["uv"].shape == (3, skeleton.NUM_KEYPOINTS, 2)
  np.testing.assert_array_equal(batch["subject"].numpy(), [0, 0, 0])
