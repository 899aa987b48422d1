"""The sandbox ERP: a real HTTP server on loopback speaking SAP SOAP/OData and Business Central
REST, keeping what was posted in its own SQLite file and injecting seeded faults on request.

Start one with :meth:`SandboxErp.start` (tests) or :func:`serve_forever` (``apportion
sandbox-erp``).
"""

from connectors.erp.sandbox.chart import ChartAccount, ChartCostCentre
from connectors.erp.sandbox.faults import FaultKind, FaultPlan
from connectors.erp.sandbox.server import RunningSandbox, SandboxErp, serve_forever

__all__ = ["ChartAccount", "ChartCostCentre", "FaultKind", "FaultPlan", "RunningSandbox",
           "SandboxErp", "serve_forever"]
