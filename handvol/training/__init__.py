"""Training: `train_and_evaluate(config, workdir)` runs a configuration end to end."""

from handvol.training.trainer import train_and_evaluate
