"""Pure specifications shared by every layer: configs, number formats, the DianNao ISA, the EIE
memory map and the constants the gateware and the models agree on. Imports nothing else of
accelgen and needs neither NumPy nor Amaranth."""
