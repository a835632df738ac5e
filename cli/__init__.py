"""accelgen: synthesizable RTL generator for the EIE and DianNao deep-learning accelerators.

Parts: :mod:`accelgen.golden` (NumPy golden model), :mod:`accelgen.hdl` (Amaranth gateware),
:mod:`accelgen.sim` (cocotb harness), :mod:`accelgen.synth` (synthesis flows).
"""

__version__ = "0.1.0"
