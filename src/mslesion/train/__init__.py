"""Training: config, subject-wise splits, the loop (AMP, DDP, resume), checkpoints,
validation and curves. Heavy modules are imported by the caller, not here."""
