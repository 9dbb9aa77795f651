"""The frame record: defaults and validation errors."""

import numpy as np
import pytest

from handvol.data import records


def test_make_record_fills_kinds_and_projections(make_records):
  record = make_records(1)[0]
  assert records.validate_record(record) is record
  assert np.all(record["kind"] == records.KIND_3D)
  projected = records.project_points(record["xyz"], record["intrinsics"])
  np.testing.assert_allclose(record["uv"], projected, atol=1e-3)

  uv = np.full((records.NUM_KEYPOINTS, 2), np.nan)
  uv[[0, 4]] = [[10.0, 12.0], [20.0, 22.0]]
  partial = records.make_record(np.ones((30, 40)), (50.0, 50.0, 20.0, 15.0), "capture", uv=uv,
                                visible=np.arange(records.NUM_KEYPOINTS) % 2)
  records.validate_record(partial)
  np.testing.assert_array_equal(np.flatnonzero(partial["kind"]), [0, 4])
  np.testing.assert_array_equal(partial["visible"][[0, 4]], [0.0, 0.0])
  assert partial["dataset"] == records.DATASET_IDS["capture"] and partial["has_truth"] == 0


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("kind"), "has no 'kind'"),
    (lambda r: r.update(depth=r["depth"].astype(np.float64)), "'depth' must be float32"),
    (lambda r: r.update(uv=r["uv"][:6]), "'uv' must have shape"),
    (lambda r: r["depth"].__setitem__((0, 0), np.nan), "depth holds NaN"),
    (lambda r: r["xyz"].__setitem__((3, 1), np.nan), "xyz labels hold NaN"),
    (lambda r: r["uv"].__setitem__((5, 0), 1e4), r"keypoints \[5\] lie outside"),
    (lambda r: r["kind"].__setitem__(2, 7), "kind must be 0, 1 or 2"),
    (lambda r: r["intrinsics"].__setitem__(0, 0.0), "fx, fy > 0"),
])
def test_validate_record_names_the_frame_and_the_problem(make_records, change, message):
  record = make_records(1)[0]
  change(record)
  with pytest.raises(records.FrameError, match=f"^my.png \\(frame 3\\): .*{message}"):
    records.validate_record(record, "my.png (frame 3)")


def test_checked_raises_or_skips_and_counts(make_records):
  def broken():
    raise OSError("disk on fire")

  with pytest.raises(records.FrameError, match="^f.png: disk on fire"):
    records.checked(broken, "f.png")
  log = records.SkipLog()
  assert records.checked(broken, "f.png", log) is None
  good = make_records(1)[0]
  assert records.checked(lambda: good, "g.png", log) is good
  assert log.count == 1 and "f.png" in log.entries[0]


def test_centre_file_sets_the_reference_point(tmp_path, make_records):
  path = tmp_path / "centers.txt"
  path.write_text("10.5 20 600\ninvalid invalid invalid\nnan nan nan\n")
  centers = records.read_center_file(path)
  np.testing.assert_allclose(centers[0], (10.5, 20.0, 600.0))
  assert np.all(np.isnan(centers[1:]))
  out = list(records.with_centers(make_records(3), centers))
  assert [float(r["has_center"]) for r in out] == [1.0, 0.0, 0.0]
  np.testing.assert_allclose(out[0]["center_uvd"], (10.5, 20.0, 600.0))
  records.validate_record(out[1])
  path.write_text("1 2\n")
  with pytest.raises(records.FrameError, match="centers.txt:1: expected 3 numbers"):
    records.read_center_file(path)
