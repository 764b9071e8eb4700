"""Inference: checkpoint -> preprocess -> sliding window (+TTA) -> postprocess -> native grid.

Import the submodules directly (``mslesion.infer.predictor``); they pull in torch and MONAI.
"""
