"""Typed query functions by aggregate: the only place outside services that builds SQL."""
