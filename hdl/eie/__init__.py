"""EIE: sparse compressed fully-connected accelerator (Han et al., ISCA 2016)."""
