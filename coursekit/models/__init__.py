"""The course's models, one family per file, all following one contract (see `base.py`)."""
from .base import GenerativeModel
from .independent import PixelCategorical

__all__ = ["GenerativeModel", "PixelCategorical"]
from .autoencoder import (
    AutoencoderConfig, LinearAEConfig, MLPAEConfig, ConvAEConfig, Autoencoder, LinearAutoencoder,
    MLPAutoencoder, ConvAutoencoder, PCA, principal_angles, kernel_pca, corrupt, inpaint, few_label_indices,
    linear_probe,
)

__all__ += [
    "AutoencoderConfig", "LinearAEConfig", "MLPAEConfig", "ConvAEConfig", "Autoencoder", "LinearAutoencoder",
    "MLPAutoencoder", "ConvAutoencoder", "PCA", "principal_angles", "kernel_pca", "corrupt", "inpaint",
    "few_label_indices", "linear_probe",
]
from .vae import VAE, VAEConfig

__all__ += ["VAE", "VAEConfig"]
from .collapse import CollapseVAE, CollapseVAEConfig, kl_warmup

__all__ += ["CollapseVAE", "CollapseVAEConfig", "kl_warmup"]
from .autoregressive import Autoregressive, AutoregressiveConfig
from .fvsbn import FVSBN, FVSBNConfig
from .nade import NADE, NADEConfig
from .made import MADE, MADEConfig

__all__ += ["Autoregressive", "AutoregressiveConfig", "FVSBN", "FVSBNConfig", "NADE", "NADEConfig", "MADE",
            "MADEConfig"]
from .pixelcnn import PixelCNN, PixelCNNConfig

__all__ += ["PixelCNN", "PixelCNNConfig"]
from .gated_pixelcnn import GatedPixelCNN, GatedPixelCNNConfig

__all__ += ["GatedPixelCNN", "GatedPixelCNNConfig"]
from .wavenet import WaveNet, WaveNetConfig

__all__ += ["WaveNet", "WaveNetConfig"]
from .vq_vae import VQVAE, VQVAEConfig, code_splits

__all__ += ["VQVAE", "VQVAEConfig", "code_splits"]
from .gpt import GPT, GPTConfig

__all__ += ["GPT", "GPTConfig"]
from .realnvp import Flow2D, Flow2DConfig, RealNVP, RealNVPConfig

__all__ += ["RealNVP", "RealNVPConfig", "Flow2D", "Flow2DConfig"]
from .gan import GAN, GANConfig

__all__ += ["GAN", "GANConfig"]
from .cyclegan import CYCLE_TRAINING, CycleGAN2D, CycleGAN2DConfig, domain_pair, unpaired_dataset, unpaired_loader

__all__ += ["CycleGAN2D", "CycleGAN2DConfig", "domain_pair", "unpaired_dataset", "unpaired_loader", "CYCLE_TRAINING"]
from .memoriser import Memoriser, NoisyMixture

__all__ += ["Memoriser", "NoisyMixture"]
from .diffusion import DDPM, DDPMConfig, LatentDiffusion, NoiseSchedule, TimeMLP, UNet, ddim_timesteps

__all__ += ["DDPM", "DDPMConfig", "LatentDiffusion", "NoiseSchedule", "TimeMLP", "UNet", "ddim_timesteps"]
