"""Amaranth gateware: shared arithmetic blocks (``common``) and the EIE and DianNao cores."""
