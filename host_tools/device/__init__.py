"""Talking to one edgemeter device: the SMP session, the metering group's requests,
the technician's device keys and provisioning a new board's key.

Owns: session.py (`Device`, `DeviceError`, opening a port), requests.py (group 64
as smpclient request classes), keys.py (the key file), provisioning.py.
May import: protocol/ and the standard library and smpclient; nothing else of
host_tools (the ledger, billing and the CLI build on this package, never the
other way round).
"""
