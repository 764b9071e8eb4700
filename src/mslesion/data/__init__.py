"""Training data: patch grids and lesion-aware sampling, augmentation, cache, datasets."""
