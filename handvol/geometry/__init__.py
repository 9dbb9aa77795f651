"""Camera geometry: projection, back-projection and the intrinsics of crops."""
