"""Sequences in the users' layout: discovery and validation, the midpoint plan, output paths."""
