"""edgemeter host tools: the CLI a technician runs, the emulator, the ledger."""

__version__ = "0.1.0"
