"""Example custom strategies: copy one to start your own."""
