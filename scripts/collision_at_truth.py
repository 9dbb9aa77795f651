"""The collision prior's energy on true hand poses of the synthetic generator.

    python scripts/collision_at_truth.py [--frames=128] [--subjects=nyu_like] [--seed=0] \
        [--weights=1e-5 --weights=1e-6] [--top=8]

E_collision (SPEC §6, `handvol.losses.collision`) sums the 3D overlap of the model Gaussians
over `handvol.hand.volume.COLLISION_PAIRS`. A real hand is not free of it: neighbouring fingers
touch. This measures it at the true poses and bone lengths of generated frames, which is what
the prior costs a perfect prediction, and prints a markdown table: the energy's mean, median
and 90th percentile (mm³ per frame), λ·E for each `--weights`, and the pairs of bones that
contribute most.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app  # pylint: disable=wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

from handvol.data import synthetic  # pylint: disable=wrong-import-position
from handvol.data.synthetic import subjects as subjects_lib  # pylint: disable=wrong-import-position
from handvol.hand import kinematics  # pylint: disable=wrong-import-position
from handvol.hand import skeleton  # pylint: disable=wrong-import-position
from handvol.hand import volume  # pylint: disable=wrong-import-position
from handvol.losses import collision  # pylint: disable=wrong-import-position

_FRAMES = flags.DEFINE_integer("frames", 128, "Generated frames.", lower_bound=1)
_SUBJECTS = flags.DEFINE_enum("subjects", "nyu_like", sorted(subjects_lib.SUBJECT_SETS),
                              "Subject set of the frames.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the frames.")
_WEIGHTS = flags.DEFINE_multi_float("weights", [1e-5, 1e-6],
                                    "λ_collision values to show λ·E for (repeatable).")
_TOP = flags.DEFINE_integer("top", 8, "Bone pairs listed.", lower_bound=1)


def pair_overlaps(num_frames, subject_set, seed):
  """S3 of every collision pair at the true poses: `[F, P]` mm³ (P = len(COLLISION_PAIRS))."""
  thetas, lengths = [], []
  for frame in synthetic.generate_frames(num_frames, subject_set, seed):
    thetas.append(frame["theta"])
    lengths.append(subjects_lib.make_subject(frame["subject"]).lengths)
  fk = kinematics.forward_kinematics(tf.constant(np.stack(thetas)), tf.constant(np.stack(lengths)))
  centers = volume.posed_gaussians(fk)
  sigmas = tf.constant(volume.SIGMAS_MM, centers.dtype)
  first, second = volume.COLLISION_PAIRS[:, 0], volume.COLLISION_PAIRS[:, 1]
  return collision.overlap_3d(
      tf.gather(centers, first, axis=1), tf.gather(sigmas, first),
      tf.gather(centers, second, axis=1), tf.gather(sigmas, second)).numpy()


def bone_pair_table(overlaps, top):
  """The `top` bone pairs with the largest mean summed overlap per frame."""
  bones = volume.GAUSSIAN_BONES[volume.COLLISION_PAIRS]
  totals = {}
  for (a, b), mean in zip(bones, overlaps.mean(axis=0)):
    key = tuple(sorted((int(a), int(b))))
    totals[key] = totals.get(key, 0.0) + mean
  energy = overlaps.sum(axis=1).mean()
  lines = ["| bones | mean overlap (mm³) | share of E |", "|---|---|---|"]
  for (a, b), total in sorted(totals.items(), key=lambda item: -item[1])[:top]:
    lines.append(f"| {skeleton.BONE_NAMES[a]} · {skeleton.BONE_NAMES[b]} | {total:.0f} | "
                 f"{100 * total / energy:.1f} % |")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  weights = _WEIGHTS.value
  overlaps = pair_overlaps(_FRAMES.value, _SUBJECTS.value, _SEED.value)
  energy = overlaps.sum(axis=1)
  print(f"E_collision at the true poses of {_FRAMES.value} frames of {_SUBJECTS.value} "
        f"(seed {_SEED.value}), {len(volume.COLLISION_PAIRS)} collision pairs\n")
  print("| mean (mm³) | median (mm³) | 90th percentile (mm³) | "
        + " | ".join(f"λ = {w:g}: λ·mean" for w in weights) + " |")
  print("|---" * (3 + len(weights)) + "|")
  print(f"| {energy.mean():.0f} | {np.median(energy):.0f} | {np.percentile(energy, 90):.0f} | "
        + " | ".join(f"{w * energy.mean():.3f}" for w in weights) + " |\n")
  print(bone_pair_table(overlaps, _TOP.value))


if __name__ == "__main__":
  app.run(main)
