"""Data files shipped with Apportion: WSDLs, the demo company, default rule sets, icons."""
