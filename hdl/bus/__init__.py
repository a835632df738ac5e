"""Standard-bus wrappers of the cores: AXI4-Lite + AXI4-Stream and Wishbone B4 (``docs/bus.md``).

The register map is the spec :mod:`accelgen.spec.regmap`; ``signatures`` holds the bus
signatures; ``bridge`` the bus-independent register block and core-access engine; ``axi`` and
``wishbone`` the wrapped tops; ``generate`` writes the Verilog, the C header and the register-map
document.
"""
