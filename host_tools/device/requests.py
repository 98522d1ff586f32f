"""Host side of the metering SMP group (64), as smpclient request classes.

Built the way smpclient builds its own groups (smp message models for the wire,
then request classes that name their response and error types), so a
`Device.request(RecordsRead(start=1))` is an ordinary smpclient request. The
group's ids come from protocol/metering.py, shared with the firmware; what each
written setting may be, from protocol/settings.py. A refused setting comes back
as an SMP error in either version, rc 3 with "rsn": "<field>: <rule>" (ErrorV1).
"""

from enum import IntEnum, unique

from smp import error as smperror
from smp import message as smpmsg

from protocol import metering as m


@unique
class METERING_ERR(IntEnum):
    OK = m.ERR_OK
    UNKNOWN = m.ERR_UNKNOWN
    BEYOND_HEAD = m.ERR_BEYOND_HEAD
    WRONG_EPOCH = m.ERR_WRONG_EPOCH
    BAD_ARGUMENT = m.ERR_BAD_ARGUMENT
    AUTH = m.ERR_AUTH
    LOCKED = m.ERR_LOCKED


class MeteringErrorV1(smperror.ErrorV1):
    _GROUP_ID = m.GROUP


class MeteringErrorV2(smperror.ErrorV2[METERING_ERR]):
    _GROUP_ID = m.GROUP


class _Metering:
    _ErrorV1 = MeteringErrorV1
    _ErrorV2 = MeteringErrorV2


class LogStatusReadRequest(smpmsg.ReadRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_STATUS


class LogStatusReadResponse(smpmsg.ReadResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_STATUS

    dev: str
    ep: int
    first: int
    head: int
    ack: int
    used: int
    free: int
    dropped: int
    link: bytes | None = None
    """The MAC record ack + 1 chains to (a provisioned device that has an ack)."""
    att: bytes | None = None
    """The device's MAC over (dev, ep, ack, link): protocol/auth.py link_mac."""
    safe: dict | None = None
    """Only in safe mode (firmware/safe_mode.py): {"crashes", "crash", "where"} of the boot loop."""


class RecordsReadRequest(smpmsg.ReadRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_READ

    start: int | None = None
    """First sequence number wanted (default: the one after the device's ack)."""
    max: int | None = None
    """At most this many bytes of frames (default: what fits the SMP buffer)."""


class RecordsReadResponse(smpmsg.ReadResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_READ

    dev: str
    ep: int
    head: int
    recs: bytes
    """Record frames back to back: u16 length | CBOR body | u32 CRC-32 each."""


class AckWriteRequest(smpmsg.WriteRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_ACK

    ep: int
    seq: int


class AckWriteResponse(smpmsg.WriteResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_ACK

    ack: int


class LogStatus(LogStatusReadRequest, _Metering):
    _Response = LogStatusReadResponse


class RecordsRead(RecordsReadRequest, _Metering):
    _Response = RecordsReadResponse


class Ack(AckWriteRequest, _Metering):
    _Response = AckWriteResponse


class PlanReadRequest(smpmsg.ReadRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_PLAN


class _PlanState:
    """The plan and this cycle's figures (see protocol/SPEC.md); cycle fields only with a plan."""

    subscriber: str | None = None
    cc: list | None = None
    plan: dict | None = None
    total: int
    cycle_start: int | None = None
    cycle_end: int | None = None
    quota: int | None = None
    used: int | None = None
    remaining: int | None = None
    overage: int | None = None
    thresholds: list | None = None
    texts: dict | None = None
    data_on: bool | None = None
    snoozed: bool | None = None


class PlanResponse(_PlanState, smpmsg.ReadResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_PLAN


class PlanWriteResponse(_PlanState, smpmsg.WriteResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_PLAN


class PlanWriteRequest(smpmsg.WriteRequest):
    """Fields as protocol/settings.py PLAN; each value within its rule there."""

    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_PLAN

    quota: int | None = None
    """Monthly quota in bytes."""
    cycle_day: int | None = None
    tz: int | None = None
    """The plan's time zone, minutes east of UTC."""
    at_zero: str | None = None
    """"cut" or "warn"."""
    addon: int | None = None
    """Bytes of an add-on pack bought now."""
    pack: int | None = None
    """Bytes of a multi-month pack bought now, shared by `months` cycles."""
    months: int | None = None
    subscriber: str | None = None
    """The number reminders are sent to."""
    cc: list | None = None
    """More numbers that get every reminder."""
    thresholds: list | None = None
    """Reminder thresholds, bytes of data left, highest first (default 10 MB, 5 MB, 0)."""
    texts: dict | None = None
    """{threshold: text} of one's own reminders; "{mb}" stands for the MB left."""


class PlanRead(PlanReadRequest, _Metering):
    _Response = PlanResponse


class PlanWrite(PlanWriteRequest, _Metering):
    _Response = PlanWriteResponse


class SnoozeWriteRequest(smpmsg.WriteRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_SNOOZE

    on: bool = True
    """True: do not cut data at 0 MB for the rest of this cycle; False: cut again."""


class SnoozeWriteResponse(_PlanState, smpmsg.WriteResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_SNOOZE


class Snooze(SnoozeWriteRequest, _Metering):
    _Response = SnoozeWriteResponse


class _BalanceState:
    """The prepaid balance as the device last heard it (see protocol/SPEC.md)."""

    fen: int | None = None
    expires: str | None = None
    low_fen: int
    low_sent: bool
    expiry_sent: str | None = None
    bill: dict | None = None
    """The last postpaid bill: month, fen, unpaid, due (YYYY-MM-DD), sent (reminded)."""


class BalanceReadRequest(smpmsg.ReadRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_BALANCE


class BalanceReadResponse(_BalanceState, smpmsg.ReadResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_BALANCE


class BalanceWriteRequest(smpmsg.WriteRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_BALANCE

    low_fen: int
    """Remind when the balance falls to this many fen (1 yuan = 100 fen)."""


class BalanceWriteResponse(_BalanceState, smpmsg.WriteResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_BALANCE


class BalanceRead(BalanceReadRequest, _Metering):
    _Response = BalanceReadResponse


class BalanceWrite(BalanceWriteRequest, _Metering):
    _Response = BalanceWriteResponse


class _ServicesState:
    """The subscription ledger (see protocol/SPEC.md)."""

    services: dict
    """name -> {price, ordered, confirmed, charge_notice, cancelled, number}."""
    listed: dict | None = None
    """The last "0000" reply: {time, items: [[number, name, price], ...]}."""
    requests: int


class ServicesReadRequest(smpmsg.ReadRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_SERVICES


class ServicesReadResponse(_ServicesState, smpmsg.ReadResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_SERVICES


class ServicesWriteRequest(smpmsg.WriteRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_SERVICES

    query: bool | None = None
    """Send "0000" to 10086."""
    cancel: list | None = None
    """Reply to the last 0000 list with these item numbers."""


class ServicesWriteResponse(_ServicesState, smpmsg.WriteResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_SERVICES


class ServicesRead(ServicesReadRequest, _Metering):
    _Response = ServicesReadResponse


class ServicesWrite(ServicesWriteRequest, _Metering):
    _Response = ServicesWriteResponse


class _ConfigState:
    """Device settings by name (see protocol/SPEC.md)."""

    sms_words: dict
    """Query word -> "data" or "balance"."""


class ConfigReadRequest(smpmsg.ReadRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_CONFIG


class ConfigReadResponse(_ConfigState, smpmsg.ReadResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_CONFIG


class ConfigWriteRequest(smpmsg.WriteRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_CONFIG

    sms_words: dict | None = None


class ConfigWriteResponse(_ConfigState, smpmsg.WriteResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_CONFIG


class ConfigRead(ConfigReadRequest, _Metering):
    _Response = ConfigReadResponse


class ConfigWrite(ConfigWriteRequest, _Metering):
    _Response = ConfigWriteResponse


class AuthReadRequest(smpmsg.ReadRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_AUTH


class AuthReadResponse(smpmsg.ReadResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_AUTH

    dev: str
    ep: int
    nonce: bytes
    """Good for one write's proof (protocol/auth.py request_proof)."""
    provisioned: bool


class AuthWriteRequest(smpmsg.WriteRequest):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_AUTH

    key: bytes
    """The device key (32 bytes): taken once, by a device that has none."""


class AuthWriteResponse(smpmsg.WriteResponse):
    _GROUP_ID = m.GROUP
    _COMMAND_ID = m.CMD_AUTH

    provisioned: bool


class AuthRead(AuthReadRequest, _Metering):
    _Response = AuthReadResponse


class AuthWrite(AuthWriteRequest, _Metering):
    _Response = AuthWriteResponse
