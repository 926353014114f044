"""PerVFI (Wu et al., CVPR 2024) in plain PyTorch: asymmetric blending of the two frames'
features and a normalizing-flow decoder (v00) or a small CNN decoder (vb); RAFT for flows."""

from .model import PerVFI

__all__ = ["PerVFI"]
