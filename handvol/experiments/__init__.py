"""Experiments that train and evaluate several configurations: the reproduction study of the
paper's claims on synthetic data (`python -m handvol.experiments.reproduce`)."""
