"""DianNao: dense NFU accelerator with NBin/NBout/SB buffers (Chen et al., ASPLOS 2014)."""
