"""IFRNet (Kong et al., CVPR 2022) re-implemented in plain PyTorch; loads the official weights.

network.py     the network (official parameter names) and its `inference()` computation
ops.py         the official `resize` and `warp`
padding.py     the maintainer's InputPadder (frames to multiples of 16)
checkpoint.py  official `.pth` and compact `.safetensors` files, variant detection
losses.py      the training losses (reconstruction, geometry, distillation)
model.py       `IFRNet`: checkpoint in, interpolated frames of any size out
"""

from .checkpoint import CheckpointError
from .model import IFRNet

__all__ = ["CheckpointError", "IFRNet"]
