"""Can the generative loss tell hands apart? Bone lengths fitted to depth at the true poses.

    python scripts/shape_from_depth.py [--frames 64] [--subjects unseen_test] [--seed 4] \
        [--bone_weights 1e-2 3e-3 1e-3 3e-4 1e-4 0] [--steps 300]

The reproduction study's models predict one hand for everyone (`docs/reproduction.md`, E1's
F1). This asks whether the loss itself could do better, without a network: for generated frames
it holds the pose θ at the truth and fits the bone-length coefficients β of each frame alone,
from β = 0 (the mean hand), by Adam on λ_dissim·E_dissim + λ_bone·E_bone (SPEC §6; the study's
λ_dissim = 1), for each `--bone_weights`. It prints a markdown table: the fitted lengths' RMS
error to the subject's true lengths (mm; the mean hand's is the baseline), the distance between
the two subjects' mean fitted length vectors (mm; the true one beside it), and the bone-length
k-means F1 per subject (`handvol.evaluation.metrics.kmeans_f1`). Also E_dissim at the truth
with the true β and with β = 0, the gain a perfect shape would bring.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # pylint: disable=wrong-import-position
import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

from handvol.data import pipeline  # pylint: disable=wrong-import-position
from handvol.data import synthetic  # pylint: disable=wrong-import-position
from handvol.data.synthetic import generator  # pylint: disable=wrong-import-position
from handvol.data.synthetic import subjects as subjects_lib  # pylint: disable=wrong-import-position
from handvol.evaluation import metrics  # pylint: disable=wrong-import-position
from handvol.hand import skeleton  # pylint: disable=wrong-import-position
from handvol.model import hand_pose_model  # pylint: disable=wrong-import-position


def frames_and_examples(num_frames, subject_set, seed):
  """The frames' true θ `[F, 26]`, subject ids `[F]`, and their preprocessed examples (one
  batch: the evaluation pipeline's dict of tensors)."""
  config = synthetic.SyntheticConfig()
  thetas, subject_ids, frame_records = [], [], []
  for frame in generator.generate_frames(num_frames, subject_set, seed, config):
    thetas.append(frame["theta"])
    subject_ids.append(frame["subject"])
    frame_records.append(generator.to_record(frame, "lab6_3d", config.intrinsics))
  source = pipeline.from_records(pipeline.stack_records(frame_records))
  examples = next(iter(pipeline.evaluation_dataset(
      source, pipeline.PipelineConfig(batch_size=num_frames))))
  return np.stack(thetas).astype(np.float32), np.asarray(subject_ids), examples


def fit_beta(model, examples, theta, bone_weight, steps, learning_rate):
  """β `[F, 20]` of each frame minimising E_dissim + bone_weight·E_bone at pose θ."""
  beta = tf.Variable(tf.zeros([theta.shape[0], skeleton.NUM_BETA]))
  optimizer = keras.optimizers.Adam(learning_rate)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      energies = model.loss_terms(examples, {"theta": theta, "beta": beta,
                                             **model.hand(theta, beta)})
      loss = tf.reduce_sum(energies["dissim"] + bone_weight * energies["bone"])
    optimizer.apply_gradients([(tape.gradient(loss, beta), beta)])

  progress = keras.utils.Progbar(steps, unit_name="step")
  for _ in range(steps):
    step()
    progress.add(1)
  return beta.numpy()


def dissim(model, examples, theta, beta):
  """Mean E_dissim of the frames at (θ, β)."""
  beta = tf.constant(beta, tf.float32)
  energies = model.loss_terms(examples, {"theta": theta, "beta": beta,
                                         **model.hand(theta, beta)})
  return float(tf.reduce_mean(energies["dissim"]))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--frames", type=int, default=64)
  parser.add_argument("--subjects", default="unseen_test")
  parser.add_argument("--seed", type=int, default=4)
  parser.add_argument("--bone_weights", type=float, nargs="+", default=[1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 0.0])
  parser.add_argument("--steps", type=int, default=300)
  parser.add_argument("--learning_rate", type=float, default=0.05)
  args = parser.parse_args()
  if args.frames < 2:
    parser.error("--frames must be at least 2")
  if len(subjects_lib.subject_set(args.subjects)) != 2:
    parser.error("--subjects must name a set of exactly two subjects (F1 and distance compare "
                 "two)")
  theta, subject_ids, examples = frames_and_examples(args.frames, args.subjects, args.seed)
  theta = tf.constant(theta)
  subjects = {int(s): subjects_lib.make_subject(int(s)) for s in np.unique(subject_ids)}
  true_beta = np.stack([subjects[int(s)].beta for s in subject_ids]).astype(np.float32)
  true_lengths = np.stack([subjects[int(s)].lengths for s in subject_ids])
  # Only the hand model, the decoder and the loss layers are used; the encoder stays unbuilt.
  model = hand_pose_model.HandPoseModel(loss_weights={"dissim": 1.0, "bone": 1.0})

  def lengths_of(beta):
    return model.hand(theta, tf.constant(beta, tf.float32))["bone_lengths"].numpy()

  def row(name, beta):
    lengths = lengths_of(beta)
    rms = np.sqrt(np.mean((lengths - true_lengths) ** 2))
    apart = metrics.subject_mean_distance(lengths, subject_ids)
    f1 = metrics.kmeans_f1(lengths, subject_ids)
    f1_text = " / ".join(f"{f1[s]:.2f}" for s in sorted(f1))
    return (f"| {name} | {dissim(model, examples, theta, beta):.4f} | {rms:.2f} | "
            f"{apart:.2f} | {f1_text} |")

  print(f"\nβ fitted to depth at the true poses: {args.frames} frames of {args.subjects} "
        f"(seed {args.seed}), {args.steps} Adam steps at {args.learning_rate:g}\n")
  print("| β | E_dissim | length RMS error (mm) | subjects apart (mm) | F1 per subject |")
  print("|---|---|---|---|---|")
  print(row("true", true_beta))
  print(row("0 (mean hand)", np.zeros_like(true_beta)))
  for weight in args.bone_weights:
    beta = fit_beta(model, examples, theta, weight, args.steps, args.learning_rate)
    print(row(f"fitted, λ_bone = {weight:g}", beta))


if __name__ == "__main__":
  main()
