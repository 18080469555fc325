"""Example models: each file adds models to the platform with nothing else to edit."""
