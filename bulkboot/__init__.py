"""bulkboot: boot fleets of OpenStack Nova servers from one YAML manifest."""

__version__ = "0.1.0"

__all__ = ["__version__"]
