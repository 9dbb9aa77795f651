"""Anatomical limits of the 20 articulation angles θ[6:26], radians.

Angles are measured from the rest pose of `skeleton` (θ = 0), with the signs of `kinematics`:
flexion > 0 bends palmar (the thumb's flexion moves it in the palm plane towards the index),
abduction > 0 turns a finger radially and the thumb palmar, out of the palm plane.

Sources (active range of motion of healthy adults):
- Flexion and extension of the finger joints and of the thumb's MCP and IP joints, and the
  thumb's basal (CMC) joint: C. Eaton, "Normal range of motion reference values", The Electronic
  Textbook of Hand Surgery (eatonhand.com), which lists finger MCP hyperextension/flexion
  (0-45)/90°, PIP 0/100°, DIP 0/80°, thumb MCP 10/55°, thumb IP 15/80°, thumb CMC radial
  abduction from contact with the index to 60° and palmar abduction from contact to 45°.
- Finger MCP abduction: 20° (American Academy of Orthopaedic Surgeons, "Joint Motion: Method of
  Measuring and Recording", 1965). We allow it to both sides of the rest direction: adduction
  against the neighbouring finger is left to the collision prior.

The thumb's in-plane range is referred to the rest pose: "contact" is the rest angle between the
thumb and index metacarpals (`THUMB_REST_SPREAD_DEG`), so flexion runs up to it and extension to
60° of radial abduction beyond contact.
"""

import numpy as np

from handvol.hand import skeleton

FINGER_MCP_FLEXION_DEG = (-45.0, 90.0)
FINGER_MCP_ABDUCTION_DEG = (-20.0, 20.0)
FINGER_PIP_FLEXION_DEG = (0.0, 100.0)
FINGER_DIP_FLEXION_DEG = (0.0, 80.0)
THUMB_MCP_FLEXION_DEG = (-10.0, 55.0)
THUMB_IP_FLEXION_DEG = (-15.0, 80.0)
THUMB_RADIAL_ABDUCTION_DEG = 60.0
THUMB_PALMAR_ABDUCTION_DEG = (0.0, 45.0)

THUMB_REST_SPREAD_DEG = (skeleton.REST_ANGLES_DEG["thumb"][1]
                         - skeleton.REST_ANGLES_DEG["index"][0])
"""Rest angle between the thumb and the index metacarpals, degrees."""

RANGES_DEG = {
    "thumb": ((THUMB_REST_SPREAD_DEG - THUMB_RADIAL_ABDUCTION_DEG, THUMB_REST_SPREAD_DEG),
              THUMB_PALMAR_ABDUCTION_DEG, THUMB_MCP_FLEXION_DEG, THUMB_IP_FLEXION_DEG),
}
RANGES_DEG.update({
    finger: (FINGER_MCP_FLEXION_DEG, FINGER_MCP_ABDUCTION_DEG, FINGER_PIP_FLEXION_DEG,
             FINGER_DIP_FLEXION_DEG)
    for finger in skeleton.FINGERS if finger != "thumb"})
"""Per finger, (lower, upper) in degrees of [base flexion, base abduction, joint-1 flexion,
joint-2 flexion], the order of `skeleton.ARTICULATIONS`."""

_RANGES = np.radians([RANGES_DEG[finger] for finger in skeleton.FINGERS]).reshape(
    skeleton.NUM_ARTICULATIONS, 2)
LOWER = _RANGES[:, 0]
"""numpy `[20]`: lower limits θ^l of θ[6:26], radians."""
UPPER = _RANGES[:, 1]
"""numpy `[20]`: upper limits θ^h of θ[6:26], radians."""
