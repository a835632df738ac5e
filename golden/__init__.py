"""NumPy golden model: the bit-exact reference for every RTL block (see ``docs/numerics.md``)."""
