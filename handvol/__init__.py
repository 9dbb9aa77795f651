"""handvol: 3D hand pose estimation from depth with a generative model-based loss.

Implements Wang et al., "Generative Model-Based Loss to the Rescue" (2020). Conventions used
throughout the package (see ``docs/conventions.md``): millimetres, radians, pixels; the OpenCV
camera frame (x right, y down, z forward); the 21-keypoint order of ``handvol.hand.skeleton``.
"""

__version__ = "0.1.0"


def load_pretrained():
  """The pose network that ships with handvol (`handvol.pretrained`, `docs/pretrained.md`): a
  `HandPoseModel` whose call takes {"depth_input": `[B, 128, 128, 1]`, "center_xyz": `[B, 3]`
  mm} and returns "keypoints" `[B, 21, 3]` mm, camera frame, among others."""
  from handvol import pretrained  # pylint: disable=import-outside-toplevel
  return pretrained.load_pretrained()
