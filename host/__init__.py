"""Host software of the cores: what a host processor computes and writes before and after a run
(EIE memory images, the DianNao compiler). NumPy only; built on the spec and the golden model,
independent of the gateware and of any simulator."""
