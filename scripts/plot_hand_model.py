"""Draws the hand model: rest pose and two articulated poses, front and side views.

Skeleton (keypoints and bones) and the 1σ circles of the volume's Gaussians, from the default
bone-length model (β = 0). Front view: the camera's image plane (x right, y down); side view:
depth z (away from the camera) against y.

  python scripts/plot_hand_model.py [--output=docs/figures/hand_model.png]
"""

from absl import app
from absl import flags
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from handvol.hand import bone_lengths  # pylint: disable=g-import-not-at-top
from handvol.hand import kinematics
from handvol.hand import limits
from handvol.hand import skeleton
from handvol.hand import volume

_OUTPUT = flags.DEFINE_string("output", "docs/figures/hand_model.png", "Output image.")

POSES_DEG = {
    "rest (θ = 0)": {},
    "grasp": {"thumb_base_abduction": 35, "thumb_base_flexion": 15, "thumb_joint1_flexion": 20,
              "thumb_joint2_flexion": 30,
              **{f"{f}_base_flexion": 50 for f in ("index", "middle", "ring", "little")},
              **{f"{f}_joint1_flexion": 60 for f in ("index", "middle", "ring", "little")},
              **{f"{f}_joint2_flexion": 30 for f in ("index", "middle", "ring", "little")}},
    "point, spread": {"thumb_base_flexion": -20, "index_base_abduction": 10,
                      "ring_base_abduction": -10, "little_base_abduction": -20,
                      **{f"{f}_base_flexion": 80 for f in ("middle", "ring", "little")},
                      **{f"{f}_joint1_flexion": 95 for f in ("middle", "ring", "little")},
                      **{f"{f}_joint2_flexion": 60 for f in ("middle", "ring", "little")}},
}
"""Articulation angles in degrees by `skeleton.ARTICULATIONS` name; the rest stay 0."""
FINGER_COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:blue", "tab:purple")
DEPTH_MM = 500.0
SIDE_VIEW_NEAR_MM = 110.0
SIDE_VIEW_FAR_MM = 30.0


def _theta(angles_deg):
  theta = np.zeros(skeleton.NUM_THETA)
  theta[skeleton.THETA_TRANSLATION] = (0.0, 0.0, DEPTH_MM)
  for angle_name, degrees in angles_deg.items():
    theta[skeleton.THETA_ARTICULATION.start + skeleton.ARTICULATIONS.index(angle_name)] = (
        np.radians(degrees))
  articulation = theta[skeleton.THETA_ARTICULATION]
  if np.any(articulation < limits.LOWER) or np.any(articulation > limits.UPPER):
    raise ValueError(f"pose {angles_deg} leaves the joint limits")
  return theta


def _draw(axis, keypoints, centres, horizontal, vertical):
  for gaussian, centre in enumerate(centres):
    finger = skeleton.BONE_FINGER[volume.GAUSSIAN_BONES[gaussian]]
    axis.add_patch(plt.Circle((centre[horizontal], centre[vertical]), volume.SIGMAS_MM[gaussian],
                              color=FINGER_COLOURS[finger], alpha=0.18, linewidth=0))
  for bone in range(skeleton.NUM_BONES):
    ends = keypoints[[skeleton.BONE_START[bone], skeleton.BONE_END[bone]]]
    axis.plot(ends[:, horizontal], ends[:, vertical], "-",
              color=FINGER_COLOURS[skeleton.BONE_FINGER[bone]], linewidth=1.5)
  axis.plot(keypoints[:, horizontal], keypoints[:, vertical], "k.", markersize=4)
  axis.plot(*keypoints[list(skeleton.LAB6)][:, [horizontal, vertical]].T, "ko", fillstyle="none",
            markersize=6)
  axis.set_aspect("equal")
  axis.invert_yaxis()
  axis.grid(alpha=0.3)


def main(argv):
  del argv
  lengths = bone_lengths.default_bone_model().mean[None]
  figure, axes = plt.subplots(2, len(POSES_DEG), figsize=(4.2 * len(POSES_DEG), 8.5))
  for column, (title, angles) in enumerate(POSES_DEG.items()):
    fk = kinematics.forward_kinematics(_theta(angles)[None], lengths)
    keypoints = fk["keypoints"].numpy()[0]
    centres = volume.posed_gaussians(fk).numpy()[0]
    _draw(axes[0, column], keypoints, centres, 0, 1)
    axes[0, column].set_title(f"{title}: front")
    axes[0, column].set_xlabel("x (mm)")
    axes[0, column].set_ylabel("y (mm)")
    _draw(axes[1, column], keypoints, centres, 2, 1)
    axes[1, column].set_xlim(DEPTH_MM - SIDE_VIEW_NEAR_MM, DEPTH_MM + SIDE_VIEW_FAR_MM)
    axes[1, column].set_title(f"{title}: side")
    axes[1, column].set_xlabel("z (mm, depth)")
    axes[1, column].set_ylabel("y (mm)")
  figure.suptitle(f"handvol hand model: {volume.NUM_GAUSSIANS} Gaussians (1σ circles), "
                  "mean bone lengths; rings mark Lab-6")
  figure.tight_layout()
  figure.savefig(_OUTPUT.value, dpi=90)
  print(f"wrote {_OUTPUT.value}")


if __name__ == "__main__":
  app.run(main)
