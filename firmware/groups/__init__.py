"""SMP command groups the firmware serves: the standard ones and edgemeter's own."""
