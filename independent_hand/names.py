"""The 21 keypoints of SPEC.md §2 as data: names, parents and the finger chains.

The names are those of the capture format (and of `handvol.hand.skeleton.KEYPOINT_NAMES`),
copied as data so that this package imports nothing of handvol. Order: 0 wrist; per finger,
thumb first, four keypoints from the palm outwards (thumb: CMC, MCP, IP, tip; the others: MCP,
PIP, DIP, tip).
"""

FINGERS = ("thumb", "index", "middle", "ring", "little")
"""The five fingers, radial (thumb) to ulnar (little)."""

KEYPOINT_NAMES = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "little_mcp", "little_pip", "little_dip", "little_tip",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
WRIST = KEYPOINT_NAMES.index("wrist")

CHAIN_JOINTS = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    "index": ("mcp", "pip", "dip", "tip"),
    "middle": ("mcp", "pip", "dip", "tip"),
    "ring": ("mcp", "pip", "dip", "tip"),
    "little": ("mcp", "pip", "dip", "tip"),
}
"""Per finger, the names of its four keypoints from the palm outwards."""

FINGER_KEYPOINTS = {finger: tuple(KEYPOINT_NAMES.index(f"{finger}_{joint}")
                                  for joint in joints)
                    for finger, joints in CHAIN_JOINTS.items()}
"""Per finger, the indices of its four keypoints from the palm outwards."""

PARENTS = tuple(-1 if k == WRIST else
                next((chain[chain.index(k) - 1] if chain.index(k) else WRIST)
                     for chain in FINGER_KEYPOINTS.values() if k in chain)
                for k in range(NUM_KEYPOINTS))
"""The parent keypoint of each keypoint (-1 for the wrist)."""

TIPS = tuple(chain[-1] for chain in FINGER_KEYPOINTS.values())
"""The five fingertip keypoints."""
