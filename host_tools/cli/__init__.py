"""The `edgemeter` command a technician runs: on top of everything else.

Owns: program.py (the parser, the command table `COMMANDS` and `main`), common.py
(what every command shares: errors, the link options, --json), one module per
command family, each with `register(subparsers)`: device_commands.py,
ledger_commands.py, emulate.py, deploy.py, field.py; __main__.py for
`python -m host_tools.cli`.
May import: any of host_tools (device, ledger, billing, build, emulator),
protocol/ and the standard library; nothing imports the CLI but its entry points
(the `edgemeter` console script, host_tools.cli:main).
"""

from host_tools.cli.program import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
