"""Blocks shared by both cores: arithmetic helpers, configs, small datapath components."""
