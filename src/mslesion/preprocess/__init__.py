"""Preprocessing: spatial (reorient, resample, crop), intensity, registration, pipeline."""
