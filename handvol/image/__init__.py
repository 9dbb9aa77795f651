"""The image side: preprocessing of depth frames, quadtree Gaussians, augmentation."""
