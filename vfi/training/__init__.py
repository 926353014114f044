"""Fine-tuning interpolation models on a lab's own triplets: augmentation, a resumable trainer,
and one adapter per trainable model (IFRNet first)."""
