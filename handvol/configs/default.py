"""Default: a small synthetic run that trains and evaluates on a 2-core CPU in minutes.

Synthetic frames with 3D labels on Lab-6 only (the wrist and five fingertips); the generative
loss and the priors have to place the other 15 keypoints. A ResNet-18 of width 16 (a quarter
of the real one's channels, 1/16 of its compute) keeps the run short; `paper_*` configs use the
full width.
"""


def get_config():
  synthetic = {"source": "synthetic", "subjects": "nyu_like", "label_mode": "lab6_3d",
               "views": "frontal", "poses": "prototypes"}
  return {
      "seed": 0,
      "data": {
          "batch_size": 16,
          "train": [dict(synthetic, ratio=1, num_frames=1024, seed=0)],
          "validation": dict(synthetic, num_frames=32, seed=1),
          "test": dict(synthetic, num_frames=128, seed=2),
          "augment": {"rotation_deg": 30.0, "translation_px": 4.0, "scale_range": (0.95, 1.05),
                      "depth_offset_mm": 10.0},
          "cube_mm": 300.0,
          "max_gaussians": 1024,
          "shuffle_buffer": 512,
          # Bad training frames skipped (skip_log.txt) before the run stops (docs/reliability.md).
          "max_skipped_fraction": 0.01,
      },
      "model": {
          "encoder_width": 16,
          "blocks_per_stage": (2, 2, 2, 2),
          # Batch-norm statistics over all replicas (mirrored, multi_worker): makes an R-replica
          # step equal a one-device step on the same global batch (docs/distributed.md).
          "synchronized_batch_norm": False,
          # Bounded: the angles cannot leave the joint limits, so the encoder cannot reach the
          # labelled fingertips by over-bending the fingers of a wrongly rotated hand (measured:
          # All-21 41.5 mm against 45.9 mm with "free"; docs/training.md).
          # rotation_offset: the Euler angles of zero outputs (`handvol.model.head`).
          # rotation "6d": continuous, unlike Euler angles (measured: All-21 37.2 mm against
          # 41.3 mm with "euler" on this config; docs/training.md).
          "head": {"translation_scale_mm": 150.0, "rotation_scale": 1.0, "beta_scale": 1.0,
                   "rotation_offset": (0.0, 0.0, 0.0), "articulation": "bounded",
                   "rotation": "6d"},
      },
      "loss": {
          # E_lim is identically 0 with bounded articulation.
          "weights": {"dissim": 1.0, "collision": 1e-5, "bone": 1e-2, "lim": 0.0,
                      "joint": 1e-3},
          "slack_mm": 0.0,
          "supervised_keypoints": "lab6",
          # 3D labels exist for occluded joints too (as NYU's): supervise them all.
          "use_visibility": False,
      },
      "train": train_config(),
      "track": track_config(),
  }


def train_config():
  """The `train` section: the schedule, measured in docs/training.md ("The default's
  schedule"), and logging."""
  return {
      # 26 × 100 steps at a peak of 3e-3: All-21 25.0–25.4 mm in 9.6–10.2 min on the 2-core
      # AMD EPYC, against 37.7 mm in 20 × 100 at 1e-3 (docs/training.md, "The default's
      # schedule").
      "epochs": 26,
      "steps_per_epoch": 100,
      "learning_rate": 3e-3,
      # The peak instead when the run starts from weights (train.init): at 3e-3 or 1e-2 the
      # shipped model's validation error jumps to 70–75 mm in the first epochs (at 3e-3 it
      # ends at 14.0 mm, at 1e-3 13.7 mm with calmer curves; docs/training.md).
      "finetune_learning_rate": 1e-3,
      "final_learning_rate": 1e-5,
      "warmup_steps": 100,
      "clip_norm": 10.0,
      "strategy": "default",
      "log_every_steps": 10,
      "images_every_epochs": 4,
      "num_images": 8,
      "verbose": 1,
  }


def track_config():
  """The `track` section: `python -m handvol.track` on a sequence of one hand
  (docs/track.md)."""
  return {
      # "follow" (the last frame's point, refined by the centre refiner; the localiser where
      # the refiner sees no hand there), "localize" (handvol.image.localize and the refiner on
      # every frame, as the serving graph) or "depth_only" (the nearest object's centre of
      # mass, preprocess.centers_from_depth).
      "reference": "follow",
      # Frame rate of a folder without a timestamps file (frame k at k / fps seconds).
      "fps": 30.0,
      # One Euro filter on the joints (Casiez et al. 2012), "none" for per-frame joints;
      # min_cutoff_hz, beta (1/mm) and d_cutoff_hz tuned in docs/track.md.
      "filter": {"kind": "one_euro", "min_cutoff_hz": 1.0, "beta": 0.01, "d_cutoff_hz": 1.0},
      # One β for the hand from the first `frames` valid frames, then held fixed:
      # "fit" (the generative energy with one shared β), "robust_mean" or "none".
      # bone_weight: λ of the bone-length prior ‖β‖² in "fit"'s energy, per frame.
      "calibration": {"method": "fit", "frames": 64, "steps": 100, "learning_rate": 0.01,
                      "bone_weight": 1e-2},
  }
