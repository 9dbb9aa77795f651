"""bench/localize.py end to end on a few frames: its last line and the settings it was given."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


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
  assert last["localizer"]["azure_kinect"]["no_hand"]["frames"] == 3
  assert last["hand_area_mm2"][0] == 2000.0 and last["min_support_mm2"] == 0.0
