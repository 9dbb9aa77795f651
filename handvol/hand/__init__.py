"""The hand model: kinematic skeleton, forward kinematics, bone lengths, joint limits, volume."""
