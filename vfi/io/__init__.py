"""Files and pixels: frames (PNG/TIFF, 8/16-bit, grayscale/RGB), atomic writes, the
intensity mapping every backend sees, and frames as model tensors."""
