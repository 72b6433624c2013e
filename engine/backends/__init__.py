"""Engine backends: ``durable`` (the product's engine) and ``reference`` (an independent
plain-Python evaluator of the same compiled data, kept to cross-check it); what they share is in
``base``."""

from .base import Backend, Fact, Firing, evidence, get_backend

__all__ = ["Backend", "Fact", "Firing", "evidence", "get_backend"]
