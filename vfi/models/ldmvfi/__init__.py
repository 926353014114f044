"""LDMVFI (Danier, Zhang, Bull 2023) re-implemented for inference in plain PyTorch."""

from .model import LDMVFI

__all__ = ["LDMVFI"]
