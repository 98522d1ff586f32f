"""The wire contract shared by the firmware and the host: CBOR, SMP framing, record schema."""
