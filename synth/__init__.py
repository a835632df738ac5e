"""Synthesis, place-and-route and lint flows on open tools (YoWASP Yosys / nextpnr)."""
