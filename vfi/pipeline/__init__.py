"""What the workflow's jobs do: cut the work into jobs, run a level, finish a sequence.

Plain functions of the library (no Snakemake here); `vfi.cli` exposes them to the rules.
"""
