"""The core registry (:mod:`accelgen.cores.registry`) with the built-in cores registered.

>>> from accelgen import cores
>>> [c.name for c in cores.all_cores()]
['eie', 'diannao']
>>> cores.get("eie").verilog_name
'eie_top'
"""

from .diannao import DIANNAO
from .eie import EIE
from .registry import Core, all_cores, get, names, register

__all__ = ["Core", "all_cores", "get", "names", "register"]

register(EIE)
register(DIANNAO)
