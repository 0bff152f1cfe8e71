"""Sandbox endpoints: local HTTP endpoints that behave like the simulated customers'.

``python -m intel sandbox`` serves them; ``SandboxThread`` runs them in-process.
"""

from intel.sandbox.app import Sandbox
from intel.sandbox.server import SandboxThread, serve_forever

__all__ = ["Sandbox", "SandboxThread", "serve_forever"]
