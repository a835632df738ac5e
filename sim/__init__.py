"""Simulation: the cocotb harness (:mod:`.runner`) and testbench helpers (:mod:`.tb`)."""
