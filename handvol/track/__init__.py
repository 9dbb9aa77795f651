"""Tracking one hand through a depth sequence (issue 24): localise, predict, calibrate the
hand's shape once, filter the joints over time.

- `one_euro`: the One Euro filter on joints;
- `shape`: per-user shape calibration (one β from many frames), saved as a small JSON file;
- `tracker`: the per-frame pipeline (`Tracker`, `track`);
- `sources`: folders of depth PNGs (sorted by name or by a timestamps file), RealSense `.bag`
  files and cameras;
- `writers`: joints per frame as JSON lines or CSV, an overlay video;
- `python -m handvol.track`: the command (`docs/track.md`).
"""
