"""The energy terms of the generative model-based loss (SPEC §6).

Each module holds the math as a pure function (per-example energies, shape `[B]`) and a thin
Keras layer that holds the term's configuration: `dissimilarity` (through the overlap op),
`collision`, `bone_length`, `joint_limits`, `keypoints`. `handvol.model.hand_pose_model` weights
them with the λs of the config.
"""
