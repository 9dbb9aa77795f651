"""bench/localize.py end to end on a few frames: its last line and the settings it was given;
its per-distance figures on known points."""

import json
import pathlib
import subprocess
import sys

import numpy as np

from handvol.model import centre_refiner

ROOT = pathlib.Path(__file__).resolve().parents[2]



def test_by_distance_bins_hits_and_signed_errors(bench_script):
  bench = bench_script("localize")
  truth = np.array([[0, 0, 400], [0, 0, 450], [0, 0, 900], [0, 0, 1100], [0, 0, 1150],
                    [0, 0, 1200]], float)
  offsets = np.array([[10, 0, 0], [-10, 0, 0], [0, 0, 40], [0, 0, -20], [0, 0, -40],
                      [500, 0, 0]], float)
  valid = np.array([1, 1, 1, 1, 1, 1])
  rows = bench.by_distance(truth, truth + offsets, valid)
  assert [row["depth_mm"] for row in rows] == [[0.0, 500.0], [800.0, 1000.0], [1000.0, None]]
  assert [row["frames"] for row in rows] == [2, 1, 3]
  # 40 mm off is no hit but is within 60 mm, so it enters the signed error; 500 mm does not.
  assert [row["hit_rate_30mm"] for row in rows] == [1.0, 0.0, round(1 / 3, 4)]
  assert rows[0]["mean_error_xyz_mm"] == [0.0, 0.0, 0.0]
  assert rows[0]["sd_error_xyz_mm"] == [10.0, 0.0, 0.0]
  assert rows[1]["mean_error_xyz_mm"] == [0.0, 0.0, 40.0]
  assert rows[2]["mean_error_xyz_mm"] == [0.0, 0.0, -30.0]
  assert rows[2]["sd_error_xyz_mm"] == [0.0, 0.0, 10.0]
  # A flagged point is neither a hit nor in the signed error.
  valid[3] = 0
  far = bench.by_distance(truth, truth + offsets, valid)[2]
  assert far["hit_rate_30mm"] == 0.0 and far["mean_error_xyz_mm"] == [0.0, 0.0, -40.0]


def test_command_reports_the_worst_camera_and_its_settings(tmp_path):
  out = tmp_path / "localize.json"
  run = subprocess.run(
      [sys.executable, str(ROOT / "bench" / "localize.py"), "--frames", "3", "--cameras",
       "azure_kinect", "--conditions", "no_body,no_hand", "--min_hand_area_mm2", "2000",
       "--min_support_mm2", "0", "--out", str(out)],
      capture_output=True, text=True, timeout=600, check=False)
  assert run.returncode == 0, run.stderr[-3000:]
  last = json.loads(run.stdout.strip().splitlines()[-1])
  assert last == json.loads(out.read_text())
  worst = last["worst_camera"]
  assert set(worst) == {"hit_rate_30mm_no_body", "hit_rate_30mm_measured_no_body",
                        "no_hand_flagged"}
  no_body = last["localizer"]["azure_kinect"]["no_body"]
  assert worst["hit_rate_30mm_no_body"] == no_body["hit_rate_30mm"]
  assert no_body["frames"] == 3 and 0.0 <= no_body["hit_rate_30mm"] <= 1.0
  assert sum(row["frames"] for row in no_body["by_distance"]) == 3
  assert last["localizer"]["azure_kinect"]["no_hand"]["frames"] == 3
  assert last["hand_area_mm2"][0] == 2000.0 and last["min_support_mm2"] == 0.0
  assert last["presence_passes"] == centre_refiner.PRESENCE_PASSES
  # Wrong points given as hands: misses not flagged, and no-hand frames kept.
  no_hand = last["localizer"]["azure_kinect"]["no_hand"]
  assert no_hand["misses_kept"] == round(3 * (1.0 - no_hand["no_hand_flagged"]))
  assert 0 <= no_body["misses_kept"] <= round(3 * (1.0 - no_body["hit_rate_30mm"]))
  assert last["misses_kept"] == no_body["misses_kept"] + no_hand["misses_kept"]
