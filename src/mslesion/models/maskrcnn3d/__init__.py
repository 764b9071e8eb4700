"""3D Mask R-CNN in plain PyTorch (no custom CUDA), built on MONAI's 3D box utilities.

SynergyNet's local branch: RPN on the U-Net's finest decoder map, R-CNN box head, and a mask
head on multi-scale ROI features. See :mod:`mslesion.models.synergynet` for the full model.
"""

from mslesion.models.maskrcnn3d.anchors import AnchorConfig, anchors_for_shape
from mslesion.models.maskrcnn3d.box_ops import default_box_coder, nms, pairwise_iou
from mslesion.models.maskrcnn3d.losses import LOSS_TERMS, LossWeights, weighted_total
from mslesion.models.maskrcnn3d.model import BranchConfig, Detections, MaskRCNNBranch
from mslesion.models.maskrcnn3d.roi_align3d import roi_align3d
from mslesion.models.maskrcnn3d.rpn import RPNConfig
from mslesion.models.maskrcnn3d.targets import InstanceTargets, instance_targets

__all__ = [
    "LOSS_TERMS",
    "AnchorConfig",
    "BranchConfig",
    "Detections",
    "InstanceTargets",
    "LossWeights",
    "MaskRCNNBranch",
    "RPNConfig",
    "anchors_for_shape",
    "default_box_coder",
    "instance_targets",
    "nms",
    "pairwise_iou",
    "roi_align3d",
    "weighted_total",
]
