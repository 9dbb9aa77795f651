"""What the page proposes on a frame: the hand's reference point and, with a model, its six
keypoints (pre-annotation).

Without a model the reference point is `handvol.image.preprocess.center_from_depth` (the
centre of mass of the nearest object, SPEC §7). A checkpoint's prediction starts from the point
the serving graph takes for a frame without one: the hand localiser's
(`handvol.image.localize`), refined by the shipped centre refiner
(`handvol.model.centre_refiner`); where they find no hand, nothing is proposed.
"""

import threading

import numpy as np

from handvol.annotate import storage
from handvol.export import export
from handvol.export import predict
from handvol.hand import skeleton
from handvol.image import preprocess

LAB6_INDICES = tuple(skeleton.KEYPOINT_NAMES.index(name) for name in storage.KEYPOINTS)


class Suggester:
  """Reference points and (with `checkpoint`) model keypoints of frames, cached by name.

  Args:
    intrinsics: (fx, fy, cx, cy) of the frames, pixels.
    checkpoint: A `.keras` checkpoint or an export's version folder, or None.
    cube_mm: The crop cube; default the checkpoint's run's, else `preprocess.CUBE_MM`.
  """

  def __init__(self, intrinsics, checkpoint=None, cube_mm=None):
    self.intrinsics = np.asarray(intrinsics, np.float32)
    self.checkpoint = checkpoint
    if checkpoint and not cube_mm and str(checkpoint).endswith(".keras"):
      cube_mm = export.cube_from_workdir(checkpoint)
    self.cube_mm = cube_mm or preprocess.CUBE_MM
    self._predictor = predict.frame_predictor(checkpoint, cube_mm) if checkpoint else None
    self._cache = {}
    self._mutex = threading.Lock()  # one TF call at a time; the server is threaded

  def suggest(self, name, depth_mm, reference_uvd=None):
    """{"reference_uvd": [u, v, d] or None, "keypoints": {name: [u, v]} or None}.

    Args:
      name: The frame's name (the cache key).
      depth_mm: Its depth, `[H, W]` mm.
      reference_uvd: Optional (u, v pixels, d mm) to crop the model's input around instead of
        the localiser's centre (not cached; `handvol.annotate.measure` uses it to tell the
        localiser's error from the model's).
    """
    with self._mutex:
      if reference_uvd is not None:
        return self._compute(np.asarray(depth_mm, np.float32), reference_uvd)
      if name not in self._cache:
        self._cache[name] = self._compute(np.asarray(depth_mm, np.float32))
      return self._cache[name]

  def _compute(self, depth, reference_uvd=None):
    if self._predictor is None:
      center = preprocess.center_from_depth(depth, self.intrinsics, self.cube_mm).numpy()
      valid = bool(np.all(np.isfinite(center)) and center[2] > 0)
      return {"reference_uvd": _rounded(center) if valid else None, "keypoints": None}
    given = reference_uvd is not None
    reference = np.asarray(reference_uvd if given else np.zeros(3), np.float32)[None]
    outputs = self._predictor(depth[None], self.intrinsics[None], reference,
                              np.full([1], float(given), np.float32))
    if not outputs["valid"][0]:
      return {"reference_uvd": None, "keypoints": None}
    uvd = outputs["joints_uvd"][0]
    return {"reference_uvd": _rounded(outputs["reference_uvd"][0]),
            "keypoints": {name: _rounded(uvd[index, :2])
                          for name, index in zip(storage.KEYPOINTS, LAB6_INDICES)}}


def _rounded(values):
  return [round(float(value), 2) for value in values]
