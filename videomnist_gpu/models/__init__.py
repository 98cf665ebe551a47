"""VQ-VAE and VideoGPT (Yan et al. 2021, arXiv 2104.10157) as Lightning modules.

`VQVAE` compresses clips `(B, C, T, H, W)` in `[-0.5, 0.5]` into a grid of discrete codes;
`VideoGPT` is a causal transformer over a frozen VQ-VAE's codes that samples new clips. Both
consume VideoGPT-style batches `{'video': float32 (B, C, T, H, W), 'label': int64 (B,)}`, save
only plain hyperparameters (checkpoints load with `torch.load(..., weights_only=True)`), and
train with `lightning.pytorch.Trainer`. Presets live in `configs/*.yaml`; see `presets.py`.

- `vqvae`, `codebook`, `attention`: the VQ-VAE, its EMA codebook and its axial attention.
- `videogpt`, `transformer`: VideoGPT and its causal transformer with a key/value cache.
- `presets`: the flat YAML presets of model hyperparameters and run settings.
- `validation_scores`: the digit scores logged at validation besides the losses.
- `validation_lines`: one plain line per validation when stderr is not a terminal (batch jobs).
- `training`: the training runs and sampling behind `videomnist train-vqvae`, `train-videogpt`, `sample`.

May import: `videomnist_gpu.synth`, `videomnist_gpu.data`, `videomnist_gpu.hdf5`, `videomnist_gpu.viz`,
`videomnist_gpu.evaluation`, `videomnist_gpu.errors`, `videomnist_gpu.interrupt`, `videomnist_gpu.presets`,
`videomnist_gpu.atomic_file`, `videomnist_gpu.progress`.
"""

from videomnist_gpu.models.presets import model_kwargs, read_preset
from videomnist_gpu.models.videogpt import VideoGPT
from videomnist_gpu.models.vqvae import VQVAE, load_vqvae

__all__ = ["VQVAE", "VideoGPT", "load_vqvae", "read_preset", "model_kwargs"]
