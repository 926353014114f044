"""LPIPS (Zhang et al. 2018), the learned perceptual distance, offline and never silently wrong.

LPIPS needs two sets of weights: the small linear layers, which ship inside the `lpips` package,
and an ImageNet backbone (torchvision's AlexNet or VGG16), which torchvision downloads on first use.
This machine, like many cluster nodes, has no internet, and a download attempt there hangs or fails
obscurely. So the backbone file is looked for here first (a configured path, else the torch hub
cache that torchvision itself would use), the network is never built with download enabled, and
both weight files are loaded with every key checked: a partly loaded model gives plausible but
wrong numbers, which is worse than none.

Values are >= 0 (0 for identical frames; lower is better), computed on RGB in [-1, 1] with
grayscale replicated to three channels and values scaled by the sequence's data range (the same
one PSNR and SSIM use; 255 or 65535 unless set otherwise).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vfi.evaluation.metrics import check_pair

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

LPIPS_MODES = ("required", "optional", "disabled")


@dataclass(frozen=True)
class Backbone:
    """An ImageNet backbone as torchvision publishes it."""

    builder: str  # torchvision.models function
    filename: str  # the file torchvision downloads into the hub cache
    url: str
    size: str  # for the message that asks users to fetch it


BACKBONES = {
    "alex": Backbone(
        "alexnet",
        "alexnet-owt-7be5be79.pth",
        "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
        "233 MB",
    ),
    "vgg": Backbone(
        "vgg16",
        "vgg16-397923af.pth",
        "https://download.pytorch.org/models/vgg16-397923af.pth",
        "528 MB",
    ),
}


class LPIPSWeightsError(RuntimeError):
    """The weights LPIPS needs are missing or are not what they claim to be."""


def _backbone(net: str) -> Backbone:
    if net not in BACKBONES:
        raise ValueError(f"metrics.lpips_net must be one of {sorted(BACKBONES)}, got {net!r}")
    return BACKBONES[net]


def hub_cache_path(net: str) -> Path:
    """Where torchvision keeps the backbone: <torch hub dir>/checkpoints/<file>.

    The hub dir is $TORCH_HOME/hub (default $XDG_CACHE_HOME/torch/hub, ~/.cache/torch/hub), as
    torch.hub.get_dir() says; computed here without importing torch, because the workflow asks
    when its DAG is built (every snakemake start, twice per job on a cluster).
    """
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.path.expanduser(os.environ.get("TORCH_HOME", os.path.join(cache, "torch")))
    return Path(torch_home) / "hub" / "checkpoints" / _backbone(net).filename


def backbone_weights_path(net: str, configured: str | None) -> Path:
    """The backbone file that will be used: the configured path if set, else the hub cache."""
    return Path(configured).expanduser() if configured else hub_cache_path(net)


def linear_weights_path(net: str) -> Path:
    """The linear layers that the `lpips` package ships (version 0.1, the published one).

    Found without importing lpips (which imports torch and torchvision: seconds).
    """
    _backbone(net)
    spec = importlib.util.find_spec("lpips")
    if spec is None or spec.origin is None:
        raise LPIPSWeightsError("the lpips package is not installed (pip install lpips)")
    return Path(spec.origin).parent / "weights" / "v0.1" / f"{net}.pth"


def missing_weights_message(net: str, configured: str | None) -> str | None:
    """None when both weight files are present, else what is missing and how to provide it."""
    linear = linear_weights_path(net)
    if not linear.is_file():
        return (
            f"LPIPS: the linear-layer weights {linear} that ship with the lpips package are "
            "missing; reinstall it (pip install --force-reinstall lpips)."
        )
    path = backbone_weights_path(net, configured)
    if path.is_file():
        return None
    spec = _backbone(net)
    if configured:
        where = f"metrics.lpips_weights is set to {path}, which does not exist"
    else:
        where = f"{spec.filename} is not in the torch hub cache ({path})"
    return (
        f"LPIPS ({net}) needs the ImageNet {spec.builder} weights, and {where}. "
        f"Download {spec.url} ({spec.size}) on a machine with internet and either put it at "
        f"{hub_cache_path(net)} (the torch hub cache; TORCH_HOME moves it) or set "
        "metrics.lpips_weights to its path."
    )


def explain(problem: str, mode: str) -> str:
    """The missing-weights message with what the `metrics.lpips` mode does about it."""
    if mode == "required":
        return (
            f"{problem} Or set metrics.lpips: optional to record LPIPS as n/a, "
            "or disabled to skip it."
        )
    return (
        f"{problem} Until then LPIPS is recorded as n/a "
        "(metrics.lpips: optional; disabled skips it)."
    )


def _load_state(path: Path, what: str) -> dict[str, torch.Tensor]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any failure means the same to the user: not usable
        raise LPIPSWeightsError(f"LPIPS: cannot read {what} {path}: {err}") from err
    if not isinstance(state, dict):
        raise LPIPSWeightsError(f"LPIPS: {what} {path} holds no state dict")
    return state


def _load_exactly(module: torch.nn.Module, state: dict, path: Path, what: str) -> None:
    """Load every parameter of `module` from `state`; list what is missing or misshapen."""
    own = module.state_dict()
    missing = sorted(k for k in own if k not in state)
    misshapen = sorted(k for k in own if k in state and state[k].shape != own[k].shape)
    if missing or misshapen:
        raise LPIPSWeightsError(
            f"LPIPS: {path} is not the expected {what}: missing {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}, wrong shape {misshapen[:5]}"
        )
    module.load_state_dict({k: state[k] for k in own}, strict=True)


class LPIPSScorer:
    """LPIPS with a given backbone file; call it on two frames of equal shape and dtype.

    Built without any download: the backbone is created empty and filled from `backbone_path`,
    the linear layers from the lpips package, each with all keys checked.
    """

    def __init__(self, net: str, backbone_path: Path, device: str = "cpu") -> None:
        import lpips
        import torch

        self.net = net
        self.device = torch.device(device)
        with warnings.catch_warnings():
            # lpips still passes torchvision's deprecated `pretrained=False`; harmless here.
            warnings.filterwarnings("ignore", message=".*(pretrained|weights).*")
            model = lpips.LPIPS(net=net, pretrained=False, pnet_rand=True, verbose=False)
        backbone = _load_state(Path(backbone_path), f"ImageNet {_backbone(net).builder} weights")
        # lpips splits torchvision's `features` into slices that keep the original layer
        # numbers: slice1.0.weight is features.0.weight.
        mapped = {
            name: backbone.get("features." + name.split(".", 1)[1])
            for name in model.net.state_dict()
        }
        _load_exactly(
            model.net,
            {k: v for k, v in mapped.items() if v is not None},
            Path(backbone_path),
            f"torchvision {_backbone(net).builder} ImageNet checkpoint",
        )
        linear_path = linear_weights_path(net)
        linear = _load_state(linear_path, "linear-layer weights")
        _load_exactly(model.lins, _strip_prefix(linear), linear_path, "LPIPS linear layers")
        self.model = model.to(self.device).eval()

    def __call__(
        self, prediction: np.ndarray, truth: np.ndarray, data_range: float | None = None
    ) -> float:
        """LPIPS distance >= 0 between two frames as read (8/16-bit, grayscale or RGB).

        Values are scaled by `data_range` (default: the file type's full scale) to [-1, 1], the
        range LPIPS was trained on; predictions beyond the range are clipped to it.
        """
        return self.distances([prediction], [truth], data_range)[0]

    def distances(
        self,
        predictions: list[np.ndarray],
        truths: list[np.ndarray],
        data_range: float | None = None,
    ) -> list[float]:
        """LPIPS of equal-shape frame pairs, run as one batch (one model call: what makes a GPU
        worth it). Each value is the one `__call__` gives for its pair, up to float rounding:
        nothing in LPIPS mixes the samples of a batch."""
        import torch

        if not predictions or len(predictions) != len(truths):
            raise ValueError(f"{len(predictions)} predictions for {len(truths)} ground truths")
        for prediction, truth in zip(predictions, truths, strict=True):
            check_pair(prediction, truth)
            check_pair(truth, truths[0])
        peak = float(data_range or np.iinfo(truths[0].dtype).max)
        a = torch.cat([_lpips_input(p, peak) for p in predictions]).to(self.device)
        b = torch.cat([_lpips_input(t, peak) for t in truths]).to(self.device)
        with torch.inference_mode():
            values = self.model(a, b).flatten().cpu().tolist()
        # Distances of unit-normalised features are >= 0 up to rounding.
        return [max(float(v), 0.0) for v in values]


def _lpips_input(frame: np.ndarray, peak: float) -> torch.Tensor:
    """1 x 3 x H x W float32 in [-1, 1] (values above `peak` clipped), grayscale replicated:
    the conversion every backend's input goes through, with `peak` as full scale."""
    from vfi.io.intensity import Normalisation
    from vfi.io.tensors import to_model_tensor

    scale = Normalisation("raw", 0.0, peak, peak)
    return to_model_tensor(np.minimum(frame, peak), scale).unsqueeze(0)


def _strip_prefix(state: dict) -> dict:
    """lpips saves the linear layers as lin0.model.1.weight; `model.lins` names them 0.model..."""
    return {k[len("lin") :]: v for k, v in state.items() if k.startswith("lin")}


def load_lpips(
    mode: str, net: str, configured: str | None, device: str = "cpu"
) -> tuple[LPIPSScorer | None, str | None]:
    """(scorer, None), or (None, why LPIPS is not computed: a note for metrics.txt).

    mode `disabled`: no scorer. `optional` with missing weights: no scorer and a logged warning.
    `required` with missing weights: LPIPSWeightsError saying which file to put where.
    """
    if mode not in LPIPS_MODES:
        raise ValueError(f"metrics.lpips must be one of {list(LPIPS_MODES)}, got {mode!r}")
    if mode == "disabled":
        return None, "LPIPS not computed (metrics.lpips: disabled)"
    problem = missing_weights_message(net, configured)
    if problem is not None:
        if mode == "required":
            raise LPIPSWeightsError(explain(problem, mode))
        log.warning("%s", explain(problem, mode))
        return None, "lpips n/a: weights not found (see the job log; metrics.lpips: optional)"
    return LPIPSScorer(net, backbone_weights_path(net, configured), device), None
