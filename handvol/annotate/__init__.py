"""A browser tool to label the six keypoints (Lab-6) of depth frames: `python -m
handvol.annotate` (docs/annotate.md).

`storage` lists the frames that may be served and writes the capture folder; `suggest` gives
the page its reference point and a model's keypoints; `server` is the Flask app; `static/`
holds the page (plain JavaScript, no build step); `measure` measures the pre-annotation on
synthetic frames (`scripts/preannotation_accuracy.py`).
"""
