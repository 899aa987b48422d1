"""Use cases: verbs with keyword-only arguments that run inside a unit of work.

Every write goes through a service, which checks the actor's permission and records an audit
event in the same transaction (see :mod:`ledger.services.base`). Services never commit: the
caller opens the unit of work and commits it, so several services can make one transaction.
"""
