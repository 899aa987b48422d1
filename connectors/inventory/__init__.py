"""Discovery importers: what GLPI, Jamf, SCCM, Intune, AWS Config and Snipe-IT see.

Each importer turns one source into ``Staged[DiscoveredDevice]`` values
(:class:`ledger.discovery.DiscoveredDevice`) for a service to validate and commit all or
nothing; each refuses a broken or hostile file with errors naming the file, the row (or the
element) and the field. Nothing here writes to a database.

- :func:`connectors.inventory.glpi.read_glpi` (one report) and ``read_glpi_folder``: GLPI /
  FusionInventory / OCS agent XML and GLPI native JSON
- :func:`connectors.inventory.snipeit.read_snipeit_assets`: Snipe-IT assets CSV
- :func:`connectors.inventory.sccm.read_sccm_csv`: ConfigMgr hardware inventory CSV
- :func:`connectors.inventory.intune.read_intune`: Intune managed devices, Graph JSON or CSV
- :func:`connectors.inventory.aws_config.read_aws_config`: AWS Config snapshots, notifications
- :func:`connectors.inventory.jamf.read_jamf_page` and :class:`~connectors.inventory.jamf.
  JamfProClient`: Jamf Pro computers inventory, from saved pages or the API
"""
