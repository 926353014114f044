"""Files in and out: frames (PNG/TIFF, 8/16-bit, grayscale/RGB), atomic writes, model tensors."""
