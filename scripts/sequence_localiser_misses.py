"""Where the localiser misses on a synthetic sequence: its centre against the true hand centre.

  python scripts/sequence_localiser_misses.py [--frames 40] [--seed 1000] \
      [--figure docs/figures/sequence_localiser_misses.png]

Renders one sequence of a held-out subject (`handvol.data.synthetic.sequences`, index 0),
localises the hand in every frame (`handvol.image.localize.localize_hands`), prints the distance
(mm) from the localiser's centre to the mean of the 21 true joints per frame, and draws the
worst 8 frames: depth (dark = near), the true centre (white +), the 21 true joints (white dots)
and the localiser's centre (red ×).
"""

from absl import app
from absl import flags
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position

from handvol.data.synthetic import generator  # pylint: disable=wrong-import-position
from handvol.data.synthetic import sequences  # pylint: disable=wrong-import-position
from handvol.geometry import camera  # pylint: disable=wrong-import-position
from handvol.image import localize  # pylint: disable=wrong-import-position

_FRAMES = flags.DEFINE_integer("frames", 40, "Frames of the sequence.")
_SEED = flags.DEFINE_integer("seed", 1000, "The run's seed (held-out sequences use 1000).")
_FIGURE = flags.DEFINE_string("figure", None, "PNG of the worst 8 frames.")


def main(argv):
  del argv
  subject = sequences.sequence_subject("unseen_test", 0)
  frames = list(sequences.generate_sequence(_FRAMES.value, subject, seed=_SEED.value))
  intrinsics = np.asarray(generator.SyntheticConfig().intrinsics, np.float32)
  depth = np.stack([f["depth"] for f in frames]).astype(np.float32)
  centre = np.stack([f["truth_xyz"] for f in frames]).mean(axis=1)
  found = localize.localize_hands(depth, np.tile(intrinsics[None], (len(frames), 1)))
  error = np.linalg.norm(found["center_xyz"].numpy() - centre, axis=-1)
  print("distance to the true hand centre per frame, mm:", np.round(error).astype(int).tolist())
  print(f"within 30 mm: {np.mean(error <= 30):.0%} of {len(frames)} frames")
  if _FIGURE.value:
    found_uvd = found["center_uvd"].numpy()
    figure, axes = plt.subplots(2, 4, figsize=(16, 7))
    for ax, k in zip(axes.flat, np.argsort(-error)[:8]):
      ax.imshow(np.where(depth[k] > 0, depth[k], np.nan), cmap="viridis")
      true_uv = camera.xyz_to_uvd(centre[k], intrinsics).numpy()
      ax.plot(*true_uv[:2], "w+", ms=15, mew=2, label="true centre")
      ax.plot(frames[k]["truth_uv"][:, 0], frames[k]["truth_uv"][:, 1], "w.", ms=3)
      ax.plot(*found_uvd[k, :2], "rx", ms=15, mew=2, label="localiser")
      ax.set_title(f"frame {k}: {error[k]:.0f} mm off")
    axes.flat[0].legend(loc="upper left")
    figure.suptitle("Localiser misses on a synthetic sequence (dark = near)")
    figure.savefig(_FIGURE.value, dpi=60, bbox_inches="tight")
    print(_FIGURE.value)


if __name__ == "__main__":
  app.run(main)
