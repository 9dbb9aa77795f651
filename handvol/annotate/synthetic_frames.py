"""Synthetic depth frames to try the tool on, and to test and measure it: the one place the
annotation tool reaches the synthetic generator."""

from handvol.data.synthetic import export


def write_capture(out_dir, num_frames, seed=0, subjects="nyu_like"):
  """Writes `num_frames` synthetic frames as a capture folder with their true 2D Lab-6 labels
  (`python -m handvol.data.synthetic --format capture`); returns the number written."""
  return export.write_dataset(out_dir, num_frames, "capture", subjects, "lab6_2d", seed)
