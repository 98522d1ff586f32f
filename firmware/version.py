"""The firmware's version, reported by the SMP OS info command."""

VERSION = "0.1.0"
