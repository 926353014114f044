"""Scores of the made frames against ground truth (PSNR, SSIM, LPIPS) and their statistics."""
