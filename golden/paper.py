"""The papers' published numbers, as data, for the benchmarks to print beside our measurements.

Sources (transcribed in ``docs/papers.md``):

* EIE: Han et al., "EIE: Efficient Inference Engine on Compressed Deep Neural Network",
  ISCA 2016 (arXiv 1602.01528). Table III (benchmark layers: size, weight density, activation
  density) and Table IV (EIE's theoretical and actual time at 64 PEs, 800 MHz, and the load
  efficiency), plus the sensitivity figures: load efficiency vs FIFO (activation queue) depth and
  vs PE count, both on Alex-8.
* DianNao: Chen et al., "DianNao: A Small-Footprint High-Throughput Accelerator for Ubiquitous
  Machine-Learning", ASPLOS 2014. Table 2 (benchmark layers) and the 452 GOP/s peak at 0.98 GHz
  with ``Tn = 16``.

The sensitivity points are read off the EIE paper's plots, so they are approximate (``~`` in the
design note); a point the note gives only in words ("1: low") is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DIANNAO",
    "DIANNAO_FREQ_GHZ",
    "DIANNAO_PEAK_GOPS",
    "DIANNAO_TABLE2",
    "DIANNAO_TN",
    "DianNaoPaperLayer",
    "EIE",
    "EIE_FIFO_DEPTH",
    "EIE_FIFO_SENSITIVITY",
    "EIE_FREQ_MHZ",
    "EIE_PES",
    "EIE_PE_SENSITIVITY",
    "EIE_TABLE3",
    "EIEPaperLayer",
    "SensitivityPoint",
    "eie_layer",
    "diannao_layer",
]

EIE = 'Han et al., "EIE: Efficient Inference Engine on Compressed Deep Neural Network", ISCA 2016'
DIANNAO = (
    'Chen et al., "DianNao: A Small-Footprint High-Throughput Accelerator for Ubiquitous '
    'Machine-Learning", ASPLOS 2014'
)

#: EIE's configuration for Table IV: 64 PEs, 8-deep activation queues, 800 MHz.
EIE_PES = 64
EIE_FIFO_DEPTH = 8
EIE_FREQ_MHZ = 800.0

#: DianNao: 16 x 16 NFU, 0.98 GHz, 452 GOP/s peak.
DIANNAO_TN = 16
DIANNAO_FREQ_GHZ = 0.98
DIANNAO_PEAK_GOPS = 452.0


@dataclass(frozen=True)
class EIEPaperLayer:
    """One EIE benchmark layer (Table III) and EIE's published result on it (Table IV).

    Attributes
    ----------
    name:
        The paper's layer name (``Alex-6`` ...).
    inputs, outputs:
        Layer size: ``inputs`` columns (activations) x ``outputs`` rows.
    weight_pct, act_pct:
        Weight density and activation density, percent non-zero.
    theoretical_us, actual_us:
        EIE's theoretical and actual time at 64 PEs, 800 MHz, microseconds.
    efficiency_pct:
        EIE's load efficiency, percent.
    """

    name: str
    inputs: int
    outputs: int
    weight_pct: float
    act_pct: float
    theoretical_us: float
    actual_us: float
    efficiency_pct: float

    @property
    def weight_density(self) -> float:
        return self.weight_pct / 100

    @property
    def act_density(self) -> float:
        return self.act_pct / 100

    @property
    def theoretical_cycles(self) -> float:
        """The paper's theoretical time in cycles at 800 MHz."""
        return self.theoretical_us * EIE_FREQ_MHZ

    @property
    def actual_cycles(self) -> float:
        """The paper's actual time in cycles at 800 MHz."""
        return self.actual_us * EIE_FREQ_MHZ


#: EIE Table III/IV, in the paper's order.
EIE_TABLE3: tuple[EIEPaperLayer, ...] = (
    EIEPaperLayer("Alex-6", 9216, 4096, 9, 35.1, 28.1, 30.3, 92.7),
    EIEPaperLayer("Alex-7", 4096, 4096, 9, 35.3, 11.7, 12.2, 95.9),
    EIEPaperLayer("Alex-8", 4096, 1000, 25, 37.5, 8.9, 9.9, 89.9),
    EIEPaperLayer("VGG-6", 25088, 4096, 4, 18.3, 28.1, 34.4, 81.7),
    EIEPaperLayer("VGG-7", 4096, 4096, 4, 37.5, 7.9, 8.7, 90.8),
    EIEPaperLayer("VGG-8", 4096, 1000, 23, 41.1, 7.3, 8.4, 86.9),
    EIEPaperLayer("NT-We", 4096, 600, 10, 100, 5.2, 8.0, 65.0),
    EIEPaperLayer("NT-Wd", 600, 8791, 11, 100, 13.0, 13.9, 93.5),
    EIEPaperLayer("NT-LSTM", 1201, 2400, 10, 100, 6.5, 7.5, 86.7),
)


@dataclass(frozen=True)
class SensitivityPoint:
    """One published point of a sensitivity plot: ``x`` and efficiency in percent (or None)."""

    x: int
    efficiency_pct: float | None
    note: str = ""


#: Load efficiency vs activation-queue (FIFO) depth on Alex-8, 64 PEs (read off the plot).
EIE_FIFO_SENSITIVITY: tuple[SensitivityPoint, ...] = (
    SensitivityPoint(1, None, "low (not given as a number)"),
    SensitivityPoint(2, 70.0, "~"),
    SensitivityPoint(4, 85.0, "~"),
    SensitivityPoint(8, 90.0, "~"),
    SensitivityPoint(16, 91.0, "~ (16 and deeper)"),
    SensitivityPoint(32, 91.0, "~ (16 and deeper)"),
)

#: Load efficiency vs PE count on Alex-8, FIFO depth 8 (read off the plot; falls as PEs grow).
EIE_PE_SENSITIVITY: tuple[SensitivityPoint, ...] = (
    SensitivityPoint(64, 90.0, "~"),
    SensitivityPoint(256, 66.0, "~"),
)


@dataclass(frozen=True)
class DianNaoPaperLayer:
    """One DianNao benchmark layer (Table 2).

    Attributes
    ----------
    name:
        ``CONV1`` ... ``CLASS3``.
    kind:
        ``"conv"``, ``"pool"`` or ``"class"`` (classifier, a fully-connected layer).
    height, width:
        Input feature-map size (``width`` is 1 and ``height`` the neuron count for classifiers).
    kernel:
        Kernel (window) side ``K``; 1 for classifiers.
    ni, no:
        Input and output feature maps (neurons for classifiers).
    private_kernels:
        True where the paper marks the layer as having private (unshared) kernels.
    """

    name: str
    kind: str
    height: int
    width: int
    kernel: int
    ni: int
    no: int
    private_kernels: bool = False

    @property
    def output_size(self) -> tuple[int, int]:
        """Output map ``(height, width)``: stride 1, no padding for convolutions; stride ``K``
        for pooling (non-overlapping windows); ``(1, 1)`` for classifiers."""
        if self.kind == "class":
            return (1, 1)
        if self.kind == "pool":
            return (self.height // self.kernel, self.width // self.kernel)
        return (self.height - self.kernel + 1, self.width - self.kernel + 1)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer (0 for pooling)."""
        if self.kind == "pool":
            return 0
        oh, ow = self.output_size
        return oh * ow * self.no * self.ni * self.kernel * self.kernel


#: DianNao Table 2, in the paper's order.
DIANNAO_TABLE2: tuple[DianNaoPaperLayer, ...] = (
    DianNaoPaperLayer("CONV1", "conv", 500, 375, 9, 32, 48),
    DianNaoPaperLayer("CONV2", "conv", 200, 200, 18, 8, 8, private_kernels=True),
    DianNaoPaperLayer("CONV3", "conv", 32, 32, 4, 108, 200),
    DianNaoPaperLayer("CONV4", "conv", 32, 32, 7, 16, 512),
    DianNaoPaperLayer("CONV5", "conv", 256, 256, 11, 256, 384, private_kernels=True),
    DianNaoPaperLayer("POOL1", "pool", 492, 367, 2, 12, 12),
    DianNaoPaperLayer("POOL3", "pool", 32, 32, 4, 100, 100),
    DianNaoPaperLayer("POOL5", "pool", 256, 256, 2, 256, 256),
    DianNaoPaperLayer("CLASS1", "class", 960, 1, 1, 960, 20),
    DianNaoPaperLayer("CLASS3", "class", 200, 1, 1, 200, 100),
)


def eie_layer(name: str) -> EIEPaperLayer:
    """The Table III layer called ``name`` (``ValueError`` naming the valid names otherwise)."""
    for layer in EIE_TABLE3:
        if layer.name == name:
            return layer
    names = ", ".join(layer.name for layer in EIE_TABLE3)
    raise ValueError(f"no EIE Table III layer {name!r}; the layers are {names}")


def diannao_layer(name: str) -> DianNaoPaperLayer:
    """The Table 2 layer called ``name`` (``ValueError`` naming the valid names otherwise)."""
    for layer in DIANNAO_TABLE2:
        if layer.name == name:
            return layer
    names = ", ".join(layer.name for layer in DIANNAO_TABLE2)
    raise ValueError(f"no DianNao Table 2 layer {name!r}; the layers are {names}")
