"""The course's models, one family per file, all following one contract (see `base.py`)."""
from .base import GenerativeModel
from .independent import PixelCategorical

__all__ = ["GenerativeModel", "PixelCategorical"]
from .vae import VAE, VAEConfig

__all__ += ["VAE", "VAEConfig"]
