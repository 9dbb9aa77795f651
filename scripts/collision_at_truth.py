"""The collision prior's energy on true hand poses of the synthetic generator.

    python scripts/collision_at_truth.py [--frames 128] [--subjects nyu_like] [--seed 0] \
        [--weights 1e-5 1e-6]

E_collision (SPEC §6, `handvol.losses.collision`) sums the 3D overlap of the model Gaussians
over `handvol.hand.volume.COLLISION_PAIRS`. A real hand is not free of it: neighbouring fingers
touch. This measures it at the true poses and bone lengths of generated frames, which is what
the prior costs a perfect prediction, and prints a markdown table: the energy's mean, median
and 90th percentile (mm³ per frame), λ·E for each `--weights`, and the pairs of bones that
contribute most.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

from handvol.data import synthetic  # pylint: disable=wrong-import-position
from handvol.data.synthetic import subjects as subjects_lib  # pylint: disable=wrong-import-position
from handvol.hand import kinematics  # pylint: disable=wrong-import-position
from handvol.hand import skeleton  # pylint: disable=wrong-import-position
from handvol.hand import volume  # pylint: disable=wrong-import-position
from handvol.losses import collision  # pylint: disable=wrong-import-position


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


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--frames", type=int, default=128)
  parser.add_argument("--subjects", default="nyu_like")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--weights", type=float, nargs="+", default=[1e-5, 1e-6])
  parser.add_argument("--top", type=int, default=8)
  args = parser.parse_args()
  if args.frames < 1:
    parser.error("--frames must be at least 1")
  overlaps = pair_overlaps(args.frames, args.subjects, args.seed)
  energy = overlaps.sum(axis=1)
  print(f"E_collision at the true poses of {args.frames} frames of {args.subjects} "
        f"(seed {args.seed}), {len(volume.COLLISION_PAIRS)} collision pairs\n")
  print("| mean (mm³) | median (mm³) | 90th percentile (mm³) | "
        + " | ".join(f"λ = {w:g}: λ·mean" for w in args.weights) + " |")
  print("|---" * (3 + len(args.weights)) + "|")
  print(f"| {energy.mean():.0f} | {np.median(energy):.0f} | {np.percentile(energy, 90):.0f} | "
        + " | ".join(f"{w * energy.mean():.3f}" for w in args.weights) + " |\n")
  print(bone_pair_table(overlaps, args.top))


if __name__ == "__main__":
  main()
