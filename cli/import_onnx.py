"""``accelgen import MODEL.onnx --core {eie,diannao} -o DIR``: see :mod:`accelgen.onnx_cmd`."""

from .onnx_cmd import add_import_arguments as add_arguments
from .onnx_cmd import run_import as run

__all__ = ["add_arguments", "run"]
