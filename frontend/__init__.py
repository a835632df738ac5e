"""Front ends: import trained models (ONNX) into the golden model's network layers.

Layer: above :mod:`accelgen.golden` (it builds golden layers) and below the simulators and the
command line; it never imports gateware.
"""
