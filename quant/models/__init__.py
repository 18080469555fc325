"""Neural models of the platform; all train through :mod:`quant.models.training`."""
