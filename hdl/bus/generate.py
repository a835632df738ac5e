"""Verilog, C header and register-map document of a wrapped core (``accelgen generate --bus``).

>>> files = generate("eie", "axi", EIEConfig(n_pes=4))          # doctest: +SKIP
>>> sorted(files)                                               # doctest: +SKIP
['accelgen_eie.h', 'eie_axi.v', 'regmap.md']
"""

from __future__ import annotations

import functools

from amaranth.back import verilog as amaranth_verilog
from amaranth.hdl import _ir
from amaranth.lib import wiring

from accelgen.spec import regmap

from .axi import AXIWrapped
from .bridge import core_port
from .wishbone import WishboneWrapped

__all__ = ["BUSES", "generate", "top_module", "verilog", "wrapped", "wrapped_verilog"]

BUSES = ("native", "axi", "wishbone")
_SUFFIX = {"axi": "axi", "wishbone": "wb"}


def top_module(core: str, bus: str) -> str:
    """Verilog name of the wrapped top: ``<core>_axi`` or ``<core>_wb``."""
    if bus not in _SUFFIX:
        raise ValueError(f"bus must be one of {', '.join(_SUFFIX)}, got {bus!r}")
    return f"{core}_{_SUFFIX[bus]}"


def wrapped(core: str, bus: str, config, *, pe_module: str | None = None) -> wiring.Component:
    """The wrapped core component (``bus`` ``axi`` or ``wishbone``)."""
    port = core_port(core, config)
    if bus == "axi":
        return AXIWrapped(port, pe_module=pe_module)
    if bus == "wishbone":
        return WishboneWrapped(port, pe_module=pe_module)
    raise ValueError(f"bus must be axi or wishbone, got {bus!r}")


def _flat_ports(component: wiring.Component) -> dict:
    """Ports named ``<interface>_<signal>`` (``s_axil_awaddr``), the IP integrators' names."""
    ports = {}
    for path, member, value in component.signature.flatten(component):
        inp = member.flow == wiring.In
        direction = _ir.PortDirection.Input if inp else _ir.PortDirection.Output
        ports["_".join(map(str, path))] = (value, direction)
    return ports


def wrapped_verilog(core: str, bus: str, config) -> str:
    """Verilog of the wrapped core, top module :func:`top_module` (EIE's PE converted once)."""
    from accelgen.hdl.eie.top import PE_MODULE, time_zero_fix

    name = top_module(core, bus)
    pe_module = PE_MODULE if core == "eie" else None
    top = wrapped(core, bus, config, pe_module=pe_module)
    text = amaranth_verilog.convert(top, name=name, ports=_flat_ports(top), emit_src=False)
    if core == "eie":
        from accelgen.hdl.eie.pe import PE

        text += "\n" + amaranth_verilog.convert(PE(config), name=PE_MODULE, emit_src=False)
    # the wrapper's combinational handshake outputs must be defined at time zero in Icarus
    return time_zero_fix(text)


@functools.cache
def _generator(core: str, bus: str):
    return functools.partial(wrapped_verilog, core, bus)


def verilog(core: str, bus: str, config) -> str:
    """:func:`wrapped_verilog`, cached on disk per configuration
    (:func:`accelgen.hdl.verilog.cached`)."""
    from ..verilog import cached

    return cached(top_module(core, bus), config, _generator(core, bus))


def generate(core: str, bus: str, config) -> dict[str, str]:
    """File name -> text: the wrapped Verilog, ``accelgen_<core>.h`` and ``regmap.md``.

    ``bus == "native"`` gives nothing: the core keeps its own port (its Verilog is written by
    the core's generator as before) and has no register map.
    """
    if bus not in BUSES:
        raise ValueError(f"bus must be one of {', '.join(BUSES)}, got {bus!r}")
    if bus == "native":
        return {}
    return {
        f"{top_module(core, bus)}.v": verilog(core, bus, config),
        f"accelgen_{core}.h": regmap.c_header(core, config),
        "regmap.md": regmap.markdown(core, config),
    }
