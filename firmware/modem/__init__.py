"""The LTE modem on its UART: the AT driver and its dialects.

- `driver`: one AT command at a time, the URC pump, power-cycle recovery, and the
  Quectel dialect (byte counters with AT+QGDCNT, AT+CGACT, SMS in PDU mode);
- `simcom`: the SIMCom dialect's overrides.

The bottom of the data flow: imports protocol/ only, and nothing else in firmware/.
"""
