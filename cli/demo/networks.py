"""The two networks of the demo: the digits MLP (compressed, for EIE) and CNN (fixed point, for
DianNao) with the test split in their formats (:func:`load_models`), and the fit check of both
against the configured cores before any simulation (:func:`check_fit`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import cores
from ..spec.config import Config
from .config import DemoConfig, core_configs

__all__ = ["Models", "check_fit", "load_models", "shape_text"]


@dataclass
class Models:
    """The two trained networks and the test split, as the demo uses them."""

    mlp_layers: list
    mlp_numerics: Any
    cnn_layers: list
    cnn_numerics: Any
    x_mlp: np.ndarray  # [n, 64] fixed point
    x_cnn: np.ndarray  # [n, C, H, W] fixed point
    labels: np.ndarray
    images: np.ndarray  # [n, 8, 8] pixels for the plots
    accuracy: dict[str, dict[str, float]]  # network -> {"float": ..., "fixed": ..., ...}


def load_models(cfg: DemoConfig) -> Models:
    """The digits MLP and CNN in the numeric formats of the configured cores."""
    from ..golden import models

    configs = core_configs(cfg)
    mlp = models.digits_mlp(num=configs["eie"].numerics, n_pes=cfg.pes)
    cnn = models.digits_cnn(cfg.tn, num=configs["diannao"].numerics)
    data = models.digits_data(mlp.numerics)
    cnn_data = models.digits_data(cnn.numerics)
    return Models(
        mlp_layers=list(mlp.layers),
        mlp_numerics=mlp.numerics,
        cnn_layers=list(cnn.layers),
        cnn_numerics=cnn.numerics,
        x_mlp=np.asarray(data.x),
        x_cnn=np.asarray(cnn_data.x).reshape((-1, *cnn.input_shape)),
        labels=np.asarray(data.y),
        images=np.asarray(data.x_float).reshape(-1, 8, 8),
        accuracy={
            "mlp_eie": {
                "float": mlp.float_accuracy,
                "fixed": mlp.fixed_accuracy,
                "compressed_float": mlp.compressed_float_accuracy,
                "compressed": mlp.compressed_accuracy,
            },
            "cnn_diannao": {"float": cnn.float_accuracy, "fixed": cnn.fixed_accuracy},
        },
    )


def check_fit(models: Models, configs: Mapping[str, Config]) -> None:
    """Every check the cores make before simulating (:meth:`accelgen.cores.Core.check`): the
    MLP and the test inputs against EIE, the CNN and its inputs against DianNao."""
    cores.get("eie").check(models.mlp_layers, models.x_mlp, configs["eie"])
    cores.get("diannao").check(models.cnn_layers, models.x_cnn, configs["diannao"])


def shape_text(layers: Sequence) -> str:
    return "-".join([str(layers[0].shape[1])] + [str(layer.shape[0]) for layer in layers])
