metadata(version="0.1.0", description="edgemeter wire contract: CBOR, SMP framing, records")
package("protocol", base_path="..")
