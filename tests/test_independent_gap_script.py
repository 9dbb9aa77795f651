"""scripts/independent_gap.py: its label change and the command end to end on two frames."""

import json
import pathlib
import subprocess
import sys
import textwrap

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "independent_gap.py"


def _python(code):
  """Runs `code` in a fresh interpreter with scripts/ on the path: the script defines absl
  flags at import, which would clash with other modules' flags in this test process."""
  result = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'scripts')\n"
                           + textwrap.dedent(code)], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stdout


def test_tips_move_to_the_skin_along_the_distal_segment_and_nothing_else():
  _python("""
      import numpy as np
      import independent_gap as gap
      from independent_hand import anatomy, kinematics, poses
      subject = anatomy.make_subject(0, 1)
      points, _ = kinematics.keypoints(subject, poses.sample_pose(np.random.default_rng(0)))
      moved = gap.tips_on_skin(points, subject.scale)
      tips = [4, 8, 12, 16, 20]
      others = [k for k in range(21) if k not in tips]
      np.testing.assert_array_equal(moved[others], points[others])
      shift = moved[tips] - points[tips]
      np.testing.assert_allclose(np.linalg.norm(shift, axis=-1),
                                 anatomy.TIP_CAP_MM * subject.scale, rtol=1e-9)
      segment = points[tips] - points[[t - 1 for t in tips]]
      cosine = np.sum(shift * segment, -1) / np.linalg.norm(shift, axis=-1) / np.linalg.norm(
          segment, axis=-1)
      np.testing.assert_allclose(cosine, 1.0, atol=1e-9)
      """)


def test_the_one_palm_ellipsoid_covers_the_wrist_and_the_finger_bases():
  _python("""
      import numpy as np
      import independent_gap as gap
      from independent_hand import body as body_lib, scene
      palm_joints = [0, 1, 5, 9, 13, 17]  # wrist, thumb CMC, four MCPs
      with gap._patched(("one palm ellipsoid",)):
        assert body_lib.PALM_ELLIPSOIDS is gap.ONE_PALM
        for index in range(20):
          frame = scene.sample_frame(1, index, 6, "sphere", render=False)
          body = frame.body
          inside = np.zeros(21, bool)
          for centre, axes, radii in zip(body.ellipsoid_centres, body.ellipsoid_axes,
                                         body.ellipsoid_radii):
            inside |= np.sum(np.square((frame.xyz - centre) @ axes / radii), axis=-1) <= 1.0
          assert inside[palm_joints].all(), index
      assert body_lib.PALM_ELLIPSOIDS is not gap.ONE_PALM
      """)


def test_two_frames_as_rendered_and_with_every_change(tmp_path):
  out = tmp_path / "gap.json"
  result = subprocess.run([sys.executable, str(SCRIPT), "--frames=2",
                           "--variants=as rendered,all", f"--out={out}"], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr
  last = json.loads(result.stdout.strip().splitlines()[-1])
  assert last == json.loads(out.read_text())
  assert list(last["variants"]) == ["as rendered", "all"]
  for report in last["variants"].values():
    assert report["frames"] == 2
    assert 0.0 < report["all21_mm"] < 300.0
  # The variants are different frames (the labels at least moved).
  assert last["variants"]["as rendered"]["lab6_mm"] != last["variants"]["all"]["lab6_mm"]


def test_an_unknown_variant_is_refused_in_one_line():
  result = subprocess.run([sys.executable, str(SCRIPT), "--variants=blue hands"], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)
  assert result.returncode != 0
  assert "unknown variants ['blue hands']" in result.stderr
