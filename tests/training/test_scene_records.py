"""Scenes of a person as training frames: records cut down to their crop's window, centred
where the serving graph's localiser and centre refiner find the hand."""

import numpy as np
import pytest
import tensorflow as tf

from handvol import configs
from handvol.data import records
from handvol.data.synthetic import scene
from handvol.data.synthetic import subjects
from handvol.geometry import camera
from handvol.hand import skeleton
from handvol.image import preprocess
from handvol.training import input_pipeline
from handvol.training import scene_records


@pytest.fixture(scope="module")
def hand_scene():
  config = scene.SceneConfig(camera="realsense_d435", no_hand_prob=0.0, centre_spread=0.1)
  return next(scene.generate_scenes(1, config, seed=11, subjects=(3,)))


def _full_record(frame, center_uvd):
  """The scene as a record over the whole frame (no window), with the same labels."""
  truth = frame["truth_xyz"].astype(np.float32)
  return records.make_record(frame["depth"], frame["intrinsics"], "synthetic",
                             xyz=np.where(np.isin(np.arange(21), skeleton.LAB6)[:, None],
                                          truth, np.nan),
                             truth_xyz=truth, center_uvd=center_uvd)


def test_a_windowed_record_crops_like_the_whole_frame(hand_scene):
  truth_centre = hand_scene["truth_xyz"].mean(axis=0, keepdims=True)
  center_uvd = camera.xyz_to_uvd(truth_centre, hand_scene["intrinsics"][None]).numpy()[0]
  center_uvd = center_uvd + np.array([7.0, -5.0, 12.0], np.float32)  # not on a pixel centre
  windowed = scene_records.to_record(hand_scene, center_uvd, "lab6_3d")
  full = _full_record(hand_scene, center_uvd)
  assert windowed["depth"].size < full["depth"].size / 4
  records.validate_record(windowed, "windowed")
  a = preprocess.preprocess(windowed, prefer_centre=True)
  b = preprocess.preprocess(full, prefer_centre=True)
  assert int(a["center_source"]) == preprocess.CENTER_SOURCES.index("centre_file")
  np.testing.assert_allclose(a["center_xyz"], b["center_xyz"], atol=1e-3)
  np.testing.assert_allclose(a["crop_depth"], b["crop_depth"], atol=1e-3)
  np.testing.assert_allclose(a["crop_intrinsics"], b["crop_intrinsics"], atol=1e-3)
  labelled = list(skeleton.LAB6)
  np.testing.assert_allclose(tf.gather(a["uv"], labelled), tf.gather(b["uv"], labelled),
                             atol=1e-3)
  assert set(np.flatnonzero(windowed["kind"])) == set(labelled)
  # A rotated crop (up to 45°, scaled by 1.05) stays inside the window.
  half = 0.5 * preprocess.CUBE_MM * hand_scene["intrinsics"][0] / center_uvd[2]
  assert min(windowed["depth"].shape) >= 2 * half * np.sqrt(2) * 1.05


def test_scene_records_are_centred_where_serving_finds_the_hand():
  made = scene_records.scene_records(4, ["kinect_v2", "realsense_d435"], (1, 2), "all21_3d",
                                     seed=5, processes=0, verbose=False)
  assert len(made) == 4
  for record in made:
    records.validate_record(record, "scene", allow_off_image=True)
    assert record["subject"] in (1, 2)
    assert np.all(record["kind"] == records.KIND_3D)
    centre = camera.uvd_to_xyz(record["center_uvd"][None], record["intrinsics"][None])[0]
    miss = np.linalg.norm(centre.numpy() - record["truth_xyz"].mean(axis=0))
    assert miss <= scene_records.MAX_MISS_MM + 1e-3
  with pytest.raises(ValueError, match="label_mode"):
    scene_records.to_record(None, None, "lab6_2d")
  with pytest.raises(ValueError, match="camera"):
    scene_records.cameras_of("kinect_v1,no_such_camera")
  assert scene_records.cameras_of("all") == list(scene_records.sensor.CAMERAS)


def test_a_scenes_source_trains_on_its_records_centres(monkeypatch):
  made = []

  def fake(num_frames, cameras, subject_ids, label_mode, seed, reference):
    frame = next(scene.generate_scenes(1, scene.SceneConfig(camera=cameras[0],
                                                            no_hand_prob=0.0),
                                       seed=seed, subjects=subject_ids))
    centre = camera.xyz_to_uvd(frame["truth_xyz"].mean(axis=0, keepdims=True) + 20.0,
                               frame["intrinsics"][None]).numpy()[0]
    made.append(scene_records.to_record(frame, centre, label_mode))
    return made * num_frames

  monkeypatch.setattr(scene_records, "scene_records", fake)
  config = configs.load("scenes")
  entry = config["data"]["validation"]
  assert input_pipeline.prefers_centre(entry)
  assert not input_pipeline.prefers_centre(config["data"]["train"][1])
  assert set(config["data"]["train"][0]["subjects"]).isdisjoint(
      subjects.SUBJECT_SETS["unseen_test"])
  batch = next(iter(input_pipeline.evaluation_split(config["data"],
                                                    dict(entry, num_frames=2), 2)))
  assert np.all(batch["center_source"].numpy() == preprocess.CENTER_SOURCES.index("centre_file"))
  expected = camera.uvd_to_xyz(made[0]["center_uvd"][None], made[0]["intrinsics"][None])
  np.testing.assert_allclose(batch["center_xyz"][0], expected[0], atol=1e-2)


def test_truth_centred_scene_records_sit_on_the_hand():
  made = scene_records.scene_records(2, ["azure_kinect"], (4,), "lab6_3d", seed=9,
                                     reference="truth", processes=0, verbose=False)
  for record in made:
    centre = camera.uvd_to_xyz(record["center_uvd"][None], record["intrinsics"][None])[0]
    np.testing.assert_allclose(centre.numpy(), record["truth_xyz"].mean(axis=0), atol=1e-2)
  with pytest.raises(ValueError, match="reference"):
    scene_records.scene_records(1, ["azure_kinect"], (4,), "lab6_3d", seed=9, reference="labels")
