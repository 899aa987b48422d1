"""The demo company: a specification (company.json) that client.demo expands from a seed."""
