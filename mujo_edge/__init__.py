"""MuJo Edge: on-device wearable human-activity recognition.

The runtime core (this package without ``training``, ``export`` and ``firmware_bridge``) needs numpy and
scipy only, plus a model runtime (ai-edge-litert or executorch) to run a bundle. It never imports torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
