"""scripts/hand_model_reach.py: the hand model fitted to joints, its own and another renderer's."""

import json
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "hand_model_reach.py"


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
  folder = tmp_path_factory.mktemp("independent")
  subprocess.run([sys.executable, "-m", "independent_hand", f"--out={folder}", "--frames=6",
                  "--seed=3", "--views=sphere"], cwd=REPO_ROOT, check=True, capture_output=True)
  return folder


def test_fits_its_own_hands_and_the_independent_ones_within_millimetres(capture, tmp_path):
  out = tmp_path / "reach.json"
  result = subprocess.run([sys.executable, str(SCRIPT), f"--capture={capture}", "--steps=300",
                           "--generator_check=6", f"--out={out}"], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  last = json.loads(result.stdout.strip().splitlines()[-1])
  assert last == json.loads(out.read_text())
  assert last["frames"] == 6
  # Hands made by the same forward kinematics are reached (a broken start or optimiser leaves
  # tens of mm: the rest hand is ~60 mm from a random pose).
  assert last["generator_check"]["all21_mm"] < 2.5
  variants = last["variants"]
  assert set(variants) == {"bounded", "free", "bounded, beta within 3 SD",
                           "bounded, bone lengths free"}
  for report in variants.values():
    assert 0.3 < report["all21_mm"] < 6.0  # another geometry: close but not exact
    assert set(report["per_finger_mm"]) == {"thumb", "index", "middle", "ring", "little"}
  # Unbounded angles can only do as well or better (up to the optimiser's noise).
  assert variants["free"]["all21_mm"] <= variants["bounded"]["all21_mm"] + 0.3
