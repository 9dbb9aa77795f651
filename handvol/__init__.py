"""handvol: 3D hand pose estimation from depth with a generative model-based loss.

Implements Wang et al., "Generative Model-Based Loss to the Rescue" (2020). Conventions used
throughout the package (see ``docs/conventions.md``): millimetres, radians, pixels; the OpenCV
camera frame (x right, y down, z forward); the 21-keypoint order of ``handvol.hand.skeleton``.
"""

__version__ = "0.1.0"
