"""``accelgen run MODEL.onnx --core {eie,diannao} --inputs DATA.npz -o OUT.npz``."""

from .onnx_cmd import add_run_arguments as add_arguments
from .onnx_cmd import run_run as run

__all__ = ["add_arguments", "run"]
