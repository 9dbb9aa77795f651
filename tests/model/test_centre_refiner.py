"""The localiser's centre refiner (`centre_refiner`) and its trainer's targets: an untrained
refiner keeps the point, the shipped one moves the localiser's points towards the hands of
held-out scenes and flags frames without one, stock ops only."""

import numpy as np
import pytest
import tensorflow as tf

from handvol import pretrained
from handvol.data.synthetic import scene
from handvol.data.synthetic import sensor
from handvol.data.synthetic import subjects
from handvol.geometry import camera
from handvol.image import localize
from handvol.image import preprocess
from handvol.model import centre_refiner
from handvol.training import centre_refiner as trainer


def _inputs(frames):
  return (np.stack([f["counts"] for f in frames]).astype(np.float32),
          np.stack([f["intrinsics"] for f in frames]),
          np.array([f["depth_unit_mm"] for f in frames], np.float32))


@pytest.fixture(scope="module")
def body_scenes():
  """Held-out scenes (seed 1000 and on, the unseen subjects) with a person 10–40 cm behind."""
  config = scene.SceneConfig(camera="realsense_d435", body_prob=1.0,
                             body_gap_mm=(100.0, 400.0), no_hand_prob=0.0)
  return list(scene.generate_scenes(24, config, seed=1003))


def test_an_untrained_refiner_keeps_the_localisers_point(body_scenes):
  frames = body_scenes[:4]
  found = centre_refiner.locate_hands(centre_refiner.build_centre_refiner(), *_inputs(frames))
  alone = localize.localize_hands(*_inputs(frames))
  # Each pass crops at its point rounded to the centre grid; a zero offset returns that point.
  np.testing.assert_allclose(found["center_uvd"], preprocess.on_center_grid(alone["center_uvd"]),
                             atol=1e-3)
  np.testing.assert_allclose(found["localizer_uvd"], alone["center_uvd"], atol=1e-6)
  # Presence 0.5 everywhere: a blob is kept only where the threshold admits that much doubt.
  kept = alone["valid"].numpy() * (0.5 >= centre_refiner.PRESENCE_THRESHOLD)
  np.testing.assert_array_equal(found["valid"], kept)
  np.testing.assert_allclose(found["confidence"], 0.5 * kept, atol=1e-6)
  rejected = (alone["valid"].numpy() == 1) & (kept == 0)
  assert np.all(found["reason"].numpy()[rejected]
                == centre_refiner.REASONS.index("rejected_by_refiner"))


def test_the_shipped_refiner_moves_points_towards_the_hand(body_scenes):
  refiner = pretrained.load_centre_refiner()
  found = centre_refiner.locate_hands(refiner, *_inputs(body_scenes))
  truth = np.stack([f["centre_xyz"] for f in body_scenes])
  intrinsics = np.stack([f["intrinsics"] for f in body_scenes])
  alone = np.linalg.norm(camera.uvd_to_xyz(found["localizer_uvd"], intrinsics) - truth, axis=1)
  refined = np.linalg.norm(found["center_xyz"].numpy() - truth, axis=1)
  hit = (refined <= 30.0) & (found["valid"].numpy() == 1)
  assert np.median(refined) < 0.8 * np.median(alone), (np.median(refined), np.median(alone))
  assert hit.mean() > np.mean(alone <= 30.0), (hit.mean(), np.mean(alone <= 30.0))


def test_the_shipped_refiner_rejects_most_false_finds():
  config = scene.SceneConfig(camera="kinect_v1", no_hand_prob=1.0)
  frames = list(scene.generate_scenes(24, config, seed=1004))
  refiner = pretrained.load_centre_refiner()
  found = centre_refiner.locate_hands(refiner, *_inputs(frames))
  alone = localize.localize_hands(*_inputs(frames))
  rejected = found["reason"].numpy() == centre_refiner.REASONS.index("rejected_by_refiner")
  assert np.all(found["valid"].numpy() <= alone["valid"].numpy())
  assert found["valid"].numpy().sum() < alone["valid"].numpy().sum()
  np.testing.assert_array_equal(rejected, (alone["valid"].numpy() == 1)
                                & (found["valid"].numpy() == 0))


def test_the_mirrored_refiner_answers_a_mirrored_crop_with_the_mirrored_offset(
    body_scenes, monkeypatch):
  frames = body_scenes[:6]
  depth, intrinsics, unit = _inputs(frames)
  found = localize.localize_hands(depth, intrinsics, unit)
  crops = centre_refiner.refiner_crops(depth, found["center_uvd"], intrinsics,
                                       unit)["depth_input"]
  mirror = tf.reverse(crops, [2])
  sign = np.array(centre_refiner._MIRROR_SIGN)
  refiner = pretrained.load_centre_refiner()
  # The network alone is not symmetric: a mirrored crop's offset is not the mirrored offset.
  plain = centre_refiner._predict(refiner, crops).numpy()
  assert np.abs(centre_refiner._predict(refiner, mirror).numpy() - plain * sign).max() > 1e-3
  monkeypatch.setattr(centre_refiner, "MIRRORED", True)
  both = centre_refiner._predict(refiner, crops).numpy()
  np.testing.assert_allclose(centre_refiner._predict(refiner, mirror).numpy(), both * sign,
                             atol=1e-5)
  # And it is the mean of the two answers.
  np.testing.assert_allclose(both, 0.5 * (plain + refiner(mirror).numpy() * sign), atol=1e-5)


def test_locate_hands_has_stock_ops_only():
  function = tf.function(
      lambda d, k, u: centre_refiner.locate_hands(pretrained.load_centre_refiner(), d, k, u),
      input_signature=[tf.TensorSpec([None, None, None], tf.float32),
                       tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([None], tf.float32)])
  graph = function.get_concrete_function().graph
  op_types = {op.type for op in graph.get_operations()}
  for function_def in graph.as_graph_def().library.function:
    op_types |= {node.op for node in function_def.node_def}
  assert "Conv2D" in op_types
  assert all(hasattr(tf.raw_ops, op_type) for op_type in op_types), op_types


def test_the_trainers_targets_point_from_the_crop_to_the_hand():
  chunk = trainer._render_chunk(("kinect_v2", "handid_like", 100, 0, 6, 0.5, 0.15,
                                 (250.0, 1200.0)))
  samples = trainer._samples(chunk, np.random.default_rng(0))
  count = len(samples["offset"])
  assert samples["depth"].shape == (count, centre_refiner.CROP_SIZE, centre_refiner.CROP_SIZE)
  # Per frame where the localiser found a blob, a crop at its point and one at the blob's
  # other end, then the perturbed ones.
  found = int(samples["from_localiser"].sum())
  assert found >= 1 and count == 2 * found + trainer.PERTURBED_PER_FRAME * 6
  # The perturbed crops come last, frame after frame; their points are the truth minus the
  # offset, and a crop shows a hand exactly when its frame has one near enough.
  perturbed = samples["offset"][-trainer.PERTURBED_PER_FRAME * 6:]
  presence = samples["presence"][-trainer.PERTURBED_PER_FRAME * 6:]
  has_hand = np.tile(chunk["has_hand"], trainer.PERTURBED_PER_FRAME)
  assert np.all(presence <= has_hand)
  distance = np.linalg.norm(perturbed, axis=1) * 0.5 * centre_refiner.CUBE_MM
  assert np.all(distance[presence > 0] <= centre_refiner.MAX_HAND_OFFSET_MM + 1e-3)
  np.testing.assert_array_equal(perturbed[presence == 0], 0.0)
  # The crops are the refiner's normalised input: +1 where nothing is measured, within [-1, 1].
  assert samples["depth"].min() >= -1.0 and samples["depth"].max() <= 1.0


def test_the_trainers_subject_choices_hold_out_the_test_subjects():
  two = trainer.render_jobs(80, "two_sets")
  many = trainer.render_jobs(80, "many")
  assert len(two) == len(many) == 3 * len(sensor.CAMERAS)
  assert [job[1] for job in two[:3]] == ["handid_like", "nyu_like", "handid_like"]
  assert [job[4] for job in many[:3]] == [32, 32, 16]
  ids = set(many[0][1])
  assert len(ids) == 200 and not ids & set(subjects.SUBJECT_SETS["unseen_test"])
  with pytest.raises(ValueError, match="subjects must be one of"):
    trainer.render_jobs(80, "everyone")


def test_the_trainers_share_of_frames_without_a_hand():
  jobs = trainer.render_jobs(40, "many", no_hand_prob=0.5)
  assert {job[6] for job in jobs} == {0.5}
  assert {job[6] for job in trainer.render_jobs(40, "many")} == {trainer.NO_HAND_PROB}
  with pytest.raises(ValueError, match="no_hand_prob"):
    trainer.render_jobs(40, "many", no_hand_prob=1.0)
  # The share reaches the renderer: with none allowed, every frame of a chunk has a hand.
  chunk = trainer._render_chunk(("azure_kinect", "handid_like", 100, 0, 8, 0.0, 0.0,
                                  (250.0, 1200.0)))
  assert chunk["has_hand"].all()
  mostly_empty = trainer._render_chunk(("azure_kinect", "handid_like", 100, 0, 8, 0.0, 0.9,
                                         (250.0, 1200.0)))
  assert not mostly_empty["has_hand"].all()


def test_the_trainers_far_frames_come_after_the_others_and_hold_far_hands():
  plain = trainer.render_jobs(40, "many")
  jobs = trainer.render_jobs(40, "many", far_frames_per_camera=40)
  # The frames without far ones are the same jobs, first; the far ones number on from them.
  assert jobs[:len(plain)] == plain
  far = jobs[len(plain):]
  assert len(far) == 2 * len(sensor.CAMERAS)
  assert [job[3] for job in far[:2]] == [40, 72] and [job[4] for job in far[:2]] == [32, 8]
  assert {job[7] for job in far} == {trainer.FAR_HAND_DISTANCE_MM}
  assert {job[6] for job in far} == {0.0}
  with pytest.raises(ValueError, match="far_frames_per_camera"):
    trainer.render_jobs(40, "many", far_frames_per_camera=-1)
  # The range reaches the renderer: every hand of a far chunk lies within it.
  chunk = trainer._render_chunk(far[0][:4] + (6,) + far[0][5:])
  assert chunk["has_hand"].all()
  depth = chunk["truth_centre"][:, 2]
  assert np.all(depth >= trainer.FAR_HAND_DISTANCE_MM[0] - 60.0), depth
  assert np.all(depth <= trainer.FAR_HAND_DISTANCE_MM[1] + 60.0), depth


def test_the_seen_head_centre_is_the_mean_of_its_pixels_back_projected():
  part = np.full((20, 30), scene.PART_TORSO, np.int32)
  depth = np.full((20, 30), 900.0, np.float32)
  part[4:14, 10:20] = scene.PART_HEAD  # 100 pixels, u 10..19, v 4..13
  depth[4:14, 10:20] = 1000.0
  frame = {"part": part, "clean_depth": depth,
           "intrinsics": np.array([100.0, 50.0, 15.0, 9.0], np.float32)}
  np.testing.assert_allclose(trainer._seen_centre(frame, scene.PART_HEAD),
                             [(14.5 - 15.0) * 10.0, (8.5 - 9.0) * 20.0, 1000.0], rtol=1e-6)
  part[4:14, 15:20] = scene.PART_TORSO
  part[4:8, 10:15] = scene.PART_TORSO  # 30 head pixels left: too few
  assert trainer.HEAD_MIN_PIXELS > 30
  assert np.isnan(trainer._seen_centre(frame, scene.PART_HEAD)).all()


def test_the_trainers_head_crops_come_last_and_show_no_hand_unless_it_is_near():
  chunk = trainer._render_chunk(("azure_kinect", "handid_like", 100, 0, 8, 0.0, 0.15,
                                 (250.0, 1200.0)))
  heads = np.flatnonzero(np.isfinite(chunk["head_centre"][:, 0]))
  assert len(heads) >= 3, chunk["head_centre"]
  plain = trainer._samples(chunk, np.random.default_rng(3))
  with_heads = trainer._samples(chunk, np.random.default_rng(3), head_crops=True)
  # The same crops as without the flag, then one per frame whose head is seen.
  count = len(plain["depth"])
  assert len(with_heads["depth"]) == count + len(heads)
  for key in plain:
    np.testing.assert_array_equal(with_heads[key][:count], plain[key])
  offset = with_heads["offset"][count:] * 0.5 * centre_refiner.CUBE_MM
  presence = with_heads["presence"][count:]
  assert not with_heads["from_localiser"][count:].any()
  # Each head crop's point lies near its head; it shows a hand only when the hand is within
  # MAX_HAND_OFFSET_MM of that point (then the offset leads to the hand).
  hand_to_head = np.linalg.norm(chunk["truth_centre"][heads] - chunk["head_centre"][heads],
                                axis=1)
  jitter = 5.0 * trainer.HEAD_JITTER_MM * np.sqrt(3.0)
  far = hand_to_head > centre_refiner.MAX_HAND_OFFSET_MM + jitter
  assert far.any()
  np.testing.assert_array_equal(presence[far], 0.0)
  np.testing.assert_array_equal(presence[~chunk["has_hand"][heads]], 0.0)
  shown = presence > 0
  np.testing.assert_allclose(np.linalg.norm(offset[shown], axis=1), hand_to_head[shown],
                             atol=jitter)


def test_perturbations_reach_the_refiners_range():
  rng = np.random.default_rng(1)
  moved = trainer._perturb(np.zeros((4000, 3)), rng)
  distance = np.linalg.norm(moved, axis=1)
  assert distance.max() <= 180.0 + 4 * 30.0 * np.sqrt(3)
  assert 0.3 < np.mean(distance <= 60.0) < 0.8
  assert np.mean(distance > 120.0) > 0.1


def test_the_shipped_refiner_first_loaded_inside_a_trace_keeps_its_weights():
  """`load_centre_refiner` first called while a `tf.function` traces (as `serving` resolves its
  default) loads eagerly: a fresh process, whose refined centre must equal the eager one."""
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  script = """
import numpy as np, tensorflow as tf
from handvol import pretrained
from handvol.model import centre_refiner
crops = tf.constant(np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(1, 64, 64, 1))
traced = tf.function(lambda x: pretrained.load_centre_refiner()(x))(crops).numpy()
eager = pretrained.load_centre_refiner()(crops).numpy()
assert np.abs(traced).max() > 1e-3, traced
np.testing.assert_allclose(traced, eager, atol=1e-5)
print("ok")
"""
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=False)
  assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def _sure_where_measured(crops, training=False):
  """A stand-in refiner: no offset; a hand is present where 2 % or more of the crop has depth
  (inputs below +1; logit +6 for a 50-pixel patch), absent (−4) where it is empty."""
  del training
  measured = tf.reduce_mean(tf.cast(crops < 1.0, tf.float32), axis=[1, 2, 3])
  logit = 200.0 * (measured - 0.02)
  return tf.concat([tf.zeros([tf.shape(crops)[0], 3]), logit[:, tf.newaxis]], axis=1)


@pytest.mark.parametrize("patches, expected", [((False, True), 1), ((True, False), 0),
                                               ((True, True), 0)])
def test_refine_found_keeps_the_alternative_only_where_the_refiner_is_surer(patches, expected):
  """Two candidate points per frame; depth only around those of `patches`. The alternative
  wins only where the refiner sees a hand there and not at the localiser's point."""
  intrinsics = np.array([[300.0, 300.0, 160.0, 120.0]], np.float32)
  depth = np.zeros((1, 240, 320), np.float32)
  # The crops' windows (450 mm at 600 mm: 225 pixels) do not reach the other point's patch.
  points = np.array([[60.0, 120.0, 600.0], [260.0, 120.0, 600.0]], np.float32)
  for (u, v, d), patch in zip(points, patches):
    if patch:
      depth[0, int(v) - 25:int(v) + 25, int(u) - 25:int(u) + 25] = d
  found = {"center_uvd": points[:1], "alternative_uvd": points[1:],
           "confidence": np.ones(1, np.float32), "valid": np.ones(1, np.int32),
           "reason": np.zeros(1, np.int32)}
  out = centre_refiner.refine_found(_sure_where_measured, depth, found, intrinsics)
  assert int(out["candidate"][0]) == expected
  np.testing.assert_allclose(out["center_uvd"][0], points[expected], atol=1e-3)
  np.testing.assert_allclose(out["localizer_uvd"][0], points[0])
  assert int(out["valid"][0]) == 1


def test_surface_support_is_the_measured_area_within_the_radius():
  intrinsics = np.array([[300.0, 300.0, 160.0, 120.0]] * 3, np.float32)
  wall = np.full((3, 240, 320), 600.0, np.float32)
  # Half a palm behind the wall's surface, on it, and 100 mm in front of it in the air.
  points = np.array([[160.0, 120.0, 612.5], [100.0, 80.0, 600.0], [160.0, 120.0, 500.0]],
                    np.float32)
  support = centre_refiner.surface_support(wall, points, intrinsics).numpy()
  radius = centre_refiner.SUPPORT_RADIUS_MM
  disc = np.pi * np.array([radius ** 2 - 12.5 ** 2, radius ** 2])
  np.testing.assert_allclose(support[:2], disc, rtol=0.1)
  assert support[2] == 0.0
  # Counts of 1/8 mm are read as such.
  eighths = centre_refiner.surface_support(8.0 * wall, points, intrinsics,
                                           np.full(3, 0.125, np.float32)).numpy()
  np.testing.assert_allclose(eighths, support)


def _move_towards_camera(crops, training=False):
  """A stand-in refiner sure of a hand (logit +6) that moves every point 100 mm nearer."""
  del training
  batch = tf.shape(crops)[0]
  offset = tf.constant([[0.0, 0.0, -100.0 / (0.5 * centre_refiner.CUBE_MM)]])
  return tf.concat([tf.tile(offset, [batch, 1]), tf.fill([batch, 1], 6.0)], axis=1)


def test_a_refined_point_without_surface_near_it_is_not_a_hand():
  intrinsics = np.array([[300.0, 300.0, 160.0, 120.0]], np.float32)
  wall = np.full((1, 240, 320), 600.0, np.float32)
  start = np.array([[160.0, 120.0, 800.0]], np.float32)
  # One pass: from 800 to 700 mm, 100 mm behind the wall's surface, nothing within 50 mm.
  # Two: to 600 mm, on it.
  for iterations, present in ((1, False), (2, True)):
    out = centre_refiner.refine_centres(_move_towards_camera, wall, start, intrinsics,
                                        iterations=iterations)
    np.testing.assert_allclose(out["center_xyz"][0, 2], 800.0 - 100.0 * iterations, atol=1.0)
    assert bool(out["present"][0]) == present
    assert (float(out["presence"][0]) > 0.99) == present
    assert (float(out["support_mm2"][0]) >= centre_refiner.MIN_SUPPORT_MM2) == present


class _PresenceByPass:
  """A stand-in refiner without offsets whose presence logit is the next of `logits`, one per
  call (pass)."""

  def __init__(self, logits):
    self.logits = list(logits)

  def __call__(self, crops, training=False):
    del training
    batch = tf.shape(crops)[0]
    logit = self.logits.pop(0)
    return tf.concat([tf.zeros([batch, 3]), tf.fill([batch, 1], logit)], axis=1)


@pytest.mark.parametrize("passes, expected", [(1, 0.5), (2, 0.5 * (0.5 + 0.99)),
                                              (4, 0.25 * (0.01 + 0.01 + 0.99 + 0.5))])
def test_the_presence_is_the_mean_of_the_last_passes(monkeypatch, passes, expected):
  monkeypatch.setattr(centre_refiner, "PRESENCE_PASSES", passes)
  intrinsics = np.array([[300.0, 300.0, 160.0, 120.0]], np.float32)
  wall = np.full((1, 240, 320), 600.0, np.float32)
  logit = lambda p: float(np.log(p / (1.0 - p)))
  refiner = _PresenceByPass([logit(0.01), logit(0.01), logit(0.99), logit(0.5)])
  out = centre_refiner.refine_centres(refiner, wall, np.array([[160.0, 120.0, 600.0]],
                                                              np.float32), intrinsics)
  np.testing.assert_allclose(float(out["presence"][0]), expected, rtol=1e-5)
  assert bool(out["present"][0]) == (expected >= centre_refiner.PRESENCE_THRESHOLD)


def test_the_shipped_presence_averages_more_than_the_last_pass():
  assert 1 < centre_refiner.PRESENCE_PASSES <= centre_refiner.ITERATIONS
