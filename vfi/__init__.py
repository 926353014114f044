"""vfi: video frame interpolation for time-lapse microscopy.

The library knows nothing of Snakemake; `workflow/` calls it through the `vfi` command.
"""

__version__ = "0.1.0"
