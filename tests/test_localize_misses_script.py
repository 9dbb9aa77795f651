"""scripts/localize_misses.py: lists and draws the frames the localiser misses."""

import pathlib
import re
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "localize_misses.py"


def test_lists_every_frame_beyond_the_threshold_and_draws_them(tmp_path):
  figure = tmp_path / "misses.png"
  # At a threshold of 0 mm every frame is a miss, so the listing and the figure are exercised.
  result = subprocess.run([sys.executable, str(SCRIPT), "--camera=azure_kinect",
                           "--condition=no_body", "--frames=3", "--threshold_mm=0",
                           f"--figure={figure}"], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=False, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "3 of 3 frames missed" in result.stdout
  listed = re.findall(r"frame (\d+): hand (\d+) mm away", result.stdout)
  assert sorted(int(i) for i, _ in listed) == [0, 1, 2]
  assert all(250 <= int(z) <= 1200 for _, z in listed)  # the scenes' hand distances
  assert figure.stat().st_size > 10_000
