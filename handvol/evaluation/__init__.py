"""Evaluation: the paper's metrics and protocols, the community's prediction files, plots.

- `protocols`: which keypoints each reported mean averages over (NYU-14, Match-11, All-21,
  Lab-6, Unlab-15), as named tables.
- `metrics`: joint errors, fractions of frames within a threshold, MDPC, bone-length k-means F1.
- `community_format`: the "one frame a line, u v d per joint" files, read and written.
- `plots`: fraction-of-frames curves, per-joint error bars, qualitative camera/side views.
- `evaluate`: arrays of keypoints → a metrics dict → `metrics.json`, `metrics.md` and plots.
"""
