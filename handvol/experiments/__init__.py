"""Experiments that train and evaluate several configurations: the reproduction study of the
paper's claims on synthetic data (`python -m handvol.experiments`).

- `configurations`: the presets, test sets and configurations of the study;
- `study`: runs (or continues) the study, or a part or a variant of it (`study.run`);
- `report`: the study's numbers (`analyze`) and its report, section by section (`write`);
- `targets`: issue 9's acceptance targets checked against the numbers;
- `__main__`: the command's flags.
"""
