"""ERP gateways behind :class:`ledger.ports.ErpGateway`, and the sandbox ERP.

- :class:`connectors.erp.sap_soap.ZeepSapJournalGateway`: SAP S/4HANA, SOAP posting with zeep
  and the shipped WSDL, OData read-back.
- :class:`connectors.erp.business_central.HttpxBusinessCentralGateway`: Dynamics 365 Business
  Central API v2.0 over REST with httpx and OAuth2 client credentials.
- :mod:`connectors.erp.sandbox`: a local ERP that speaks both, for the demo and the tests.
"""
