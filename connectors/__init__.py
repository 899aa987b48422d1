"""Adapters behind ledger.ports: ERP gateways, file and API importers, ticketing."""
