"""One package per interpolation model, each knowing nothing of the pipeline or of files.

A model takes tensors or arrays and returns frames; `vfi.backends` adapts each to the pipeline.
"""
