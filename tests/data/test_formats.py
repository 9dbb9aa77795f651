"""Dataset formats: fixtures written in each format and read back; bad input errors."""

import json
import os

import cv2
import numpy as np
import pytest
import scipy.io

from handvol.data import capture
from handvol.data import hands2017
from handvol.data import nyu
from handvol.data import png
from handvol.data import records
from handvol.hand import skeleton


def test_nyu_round_trip(tmp_path, make_records):
  written = make_records(3, "nyu", nyu.INTRINSICS, shape=(60, 80))
  # Depths that use both bytes, including the largest.
  written[0]["depth"][0, :4] = [255, 256, 4097, 65535]
  assert nyu.write_frames(tmp_path, written, split="test") == 3
  assert os.path.isfile(tmp_path / "test" / "depth_1_0000001.png")

  read = list(nyu.read_frames(tmp_path, "test", label_keypoints=range(21)))
  assert len(read) == 3
  for want, got in zip(written, read):
    np.testing.assert_array_equal(got["depth"], want["depth"])  # bit-exact through G and B
    np.testing.assert_allclose(got["truth_xyz"], want["truth_xyz"], atol=1e-3)
    np.testing.assert_allclose(got["xyz"], want["xyz"], atol=1e-3)
    np.testing.assert_allclose(got["uv"], want["uv"], atol=1e-3)
    assert got["dataset"] == records.DATASET_IDS["nyu"]

  # On disk: y-up xyz, the G/B byte layout, and uvd consistent with NYU's convention.
  mat = scipy.io.loadmat(tmp_path / "test" / "joint_data.mat")
  nyu_xyz = mat["joint_xyz"][0, 0]
  np.testing.assert_allclose(nyu_xyz[:, 1], -nyu.from_21(written[0]["truth_xyz"])[:, 1],
                             rtol=1e-6)
  fx, fy, cx, cy = nyu.INTRINSICS
  uvd = mat["joint_uvd"][0, 0]
  np.testing.assert_allclose(uvd[:, 1], cy - fy * nyu_xyz[:, 1] / nyu_xyz[:, 2], atol=1e-3)
  image = cv2.imread(str(tmp_path / "test" / "depth_1_0000001.png"), cv2.IMREAD_UNCHANGED)
  np.testing.assert_array_equal(image[0, :4, 1], [0, 1, 16, 255])  # G = high byte
  np.testing.assert_array_equal(image[0, :4, 0], [255, 0, 1, 255])  # B = low byte


def test_nyu_labels_subjects_and_joint_tables(tmp_path, make_records):
  nyu.write_frames(tmp_path, make_records(2, "nyu", nyu.INTRINSICS), split="test")
  read = list(nyu.read_frames(tmp_path, "test"))
  assert np.all(read[0]["kind"][list(skeleton.LAB6)] == records.KIND_3D)
  assert np.all(read[0]["kind"][list(skeleton.UNLAB15)] == records.KIND_NONE)
  assert nyu.subject_of("test", nyu.TEST_SUBJECT_SPLIT - 1) == 0
  assert nyu.subject_of("test", nyu.TEST_SUBJECT_SPLIT) == 1
  assert nyu.subject_of("train", 5000) == 0
  assert len(nyu.JOINT_NAMES) == nyu.NUM_JOINTS == 36
  assert [nyu.JOINT_NAMES[i] for i in nyu.EVAL14[:2]] == ["F1_KNU3_A", "F1_KNU2_B"]
  assert nyu.JOINT_NAMES[nyu.TO_21[skeleton.KEYPOINT_NAMES.index("index_tip")][0]] == (
      "F4_KNU3_A")
  # Every NYU joint written from ours reads back to the same 21 keypoints.
  joints = np.random.default_rng(0).normal(size=(21, 3))
  np.testing.assert_allclose(nyu.to_21(nyu.from_21(joints)), joints, atol=1e-12)


def test_hands2017_round_trip(tmp_path, make_records):
  written = make_records(3, "hands2017", hands2017.INTRINSICS, shape=(48, 64), subject=4)
  written[1]["depth"][0, 0] = 65535
  hands2017.write_frames(tmp_path, written)
  lines = (tmp_path / hands2017.ANNOTATION_FILE).read_text().splitlines()
  assert lines[0].split()[0] == "image_D00000001.png" and len(lines[0].split()) == 64
  # The file's joint order: wrist, the five MCPs, then PIP, DIP, TIP per finger.
  first = np.asarray(lines[0].split()[1:], float).reshape(21, 3)
  np.testing.assert_allclose(first[1], written[0]["truth_xyz"][1], atol=1e-5)  # thumb base
  np.testing.assert_allclose(first[2], written[0]["truth_xyz"][5], atol=1e-5)  # index MCP
  np.testing.assert_allclose(first[6], written[0]["truth_xyz"][2], atol=1e-5)  # thumb "PIP"
  read = list(hands2017.read_frames(tmp_path, subject=4, label_keypoints=range(21)))
  for want, got in zip(written, read):
    np.testing.assert_array_equal(got["depth"], want["depth"])
    np.testing.assert_allclose(got["xyz"], want["xyz"], atol=1e-4)
    np.testing.assert_allclose(got["uv"], want["uv"], atol=1e-3)
    assert got["subject"] == 4 and got["dataset"] == records.DATASET_IDS["hands2017"]


def test_capture_round_trip_in_eighth_millimetres(tmp_path, make_records):
  written = make_records(2, "capture", (380.0, 381.0, 31.0, 24.0), integer_depth=False,
                         subject=2)
  # A capture labels 2D for some keypoints, 3D for one, none for the rest.
  uv = np.full((21, 2), np.nan)
  xyz = np.full((21, 3), np.nan)
  uv[list(skeleton.LAB6)] = written[0]["uv"][list(skeleton.LAB6)]
  xyz[4] = written[0]["xyz"][4]
  visible = np.zeros(21)
  visible[[0, 8]] = 1
  written[0] = records.make_record(written[0]["depth"], written[0]["intrinsics"], "capture",
                                   uv=uv, xyz=xyz,
                                   kind=np.where(np.isfinite(xyz[:, 0]), 2,
                                                 np.isfinite(uv[:, 0]).astype(int)),
                                   visible=visible, subject=2, center_uvd=(30.0, 20.0, 555.0))
  capture.write_frames(tmp_path, written, depth_unit_mm=0.125)
  meta = json.loads((tmp_path / capture.ANNOTATION_FILE).read_text())
  assert meta["depth_unit_mm"] == 0.125 and set(meta["frames"][0]["keypoints"]) == {
      skeleton.KEYPOINT_NAMES[k] for k in skeleton.LAB6}
  read = list(capture.read_frames(tmp_path))
  for want, got in zip(written, read):
    np.testing.assert_array_equal(got["depth"], want["depth"])
    for key in ("uv", "xyz", "kind", "visible", "subject", "center_uvd", "has_center"):
      np.testing.assert_allclose(got[key], want[key], atol=1e-4, err_msg=key)


def test_png_errors_name_the_file(tmp_path):
  with pytest.raises(records.FrameError, match="missing.png: file not found"):
    png.read_depth16(str(tmp_path / "missing.png"))
  eight_bit = str(tmp_path / "eight.png")
  cv2.imwrite(eight_bit, np.zeros((4, 4), np.uint8))
  with pytest.raises(records.FrameError, match="eight.png: expected a single-channel 16-bit"):
    png.read_depth16(eight_bit)
  with pytest.raises(records.FrameError, match="eight.png: expected an 8-bit 3-channel"):
    png.read_nyu_depth(eight_bit)
  whole = str(tmp_path / "whole.png")
  png.write_depth16(whole, np.full((32, 32), 700.0))
  truncated = tmp_path / "truncated.png"
  truncated.write_bytes(open(whole, "rb").read()[:40])
  with pytest.raises(records.FrameError, match="truncated.png: not a readable PNG"):
    png.read_depth16(str(truncated))
  with pytest.raises(records.FrameError, match="does not fit 16 bits"):
    png.write_depth16(str(tmp_path / "far.png"), np.full((2, 2), 9000.0), unit_mm=0.125)


def test_readers_raise_or_skip_bad_frames(tmp_path, make_records):
  written = make_records(3, "hands2017", hands2017.INTRINSICS)
  hands2017.write_frames(tmp_path, written)
  os.remove(tmp_path / hands2017.IMAGE_DIR / "image_D00000002.png")
  annotation = tmp_path / hands2017.ANNOTATION_FILE
  lines = annotation.read_text().splitlines()
  lines[2] = lines[2].replace(lines[2].split()[5], "nan", 1)
  annotation.write_text("\n".join(lines) + "\n")
  with pytest.raises(records.FrameError, match=r"Training_Annotation.txt:2 \(image_D00000002"):
    list(hands2017.read_frames(tmp_path))
  log = records.SkipLog()
  read = list(hands2017.read_frames(tmp_path, skip_log=log))
  assert len(read) == 1 and log.count == 2
  assert "file not found" in log.entries[0] and "NaN" in log.entries[1]


def test_capture_rejects_keypoints_outside_the_image(tmp_path, make_records):
  written = make_records(1, "capture")
  capture.write_frames(tmp_path, written)
  path = tmp_path / capture.ANNOTATION_FILE
  meta = json.loads(path.read_text())
  meta["frames"][0]["keypoints"]["wrist"]["uv"] = [500.0, 10.0]
  path.write_text(json.dumps(meta))
  with pytest.raises(records.FrameError, match=r"frame 0 \(depth/000000.png\): keypoints \[0\]"):
    list(capture.read_frames(tmp_path))
  del meta["intrinsics"]
  path.write_text(json.dumps(meta))
  with pytest.raises(records.FrameError, match="annotations.json: needs 'intrinsics'"):
    list(capture.read_frames(tmp_path))


def test_3d_writers_need_all_21_joints(tmp_path):
  uv = np.full((21, 2), 5.0)
  only_2d = records.make_record(np.ones((16, 16)), (20.0, 20.0, 8.0, 8.0), "capture", uv=uv)
  with pytest.raises(records.FrameError, match="NYU frame 0: this format needs all 21"):
    nyu.write_frames(tmp_path, [only_2d])
  with pytest.raises(records.FrameError, match="HANDS2017 frame 0: this format needs all 21"):
    hands2017.write_frames(tmp_path, [only_2d])
