"""The simulated subscriber's world, loaded from a JSON scenario (schema: docs/scenario.md).

`load_scenario(path)` reads a file, `parse_scenario(data)` checks an already
decoded dict; both return a `Scenario` or raise `ScenarioError`, whose message is
one line naming the bad field (``plan.cycle_day: must be an integer 1..31, got 0``).
`DEFAULT_SCENARIO` is what the emulator runs without a scenario file: a 100 MB
plan and steady 2 Mbit/s traffic from the start (it has no "start" of its own:
pass `start_ms`).

Units (the byte units are protocol/units.py's, named here as a scenario reads them):
- `BYTES_PER_MB`: a plan's MB is 1,048,576 bytes (1 MB = 1024 KB = 1024 * 1024
  bytes), the way carriers in China count data volume;
- `BYTES_PER_KB`: 1024 bytes, the carrier's billing increment;
- `BITS_PER_MBIT`: traffic rates are in Mbit/s of 1,000,000 bits/s (the SI
  prefix, as network line rates always are).

Times are ISO 8601 with a UTC offset ("2026-12-01T08:00:00+08:00", "...Z"), or
relative to the scenario's start ("+90s", "+15m", "+2h", "+3d"); all become
integer milliseconds since the Unix epoch.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction

from protocol import money
from protocol.units import KB as BYTES_PER_KB
from protocol.units import MB as BYTES_PER_MB
BITS_PER_MBIT = 1000000

AT_ZERO_MODES = ("cut", "warn")  # the device's setting: stop data at 0 MB, or only warn
FAULT_KINDS = ("modem_reset", "phone_off", "modem_silent")
SIM_SLOTS = 20  # messages the SIM's storage ("SM") holds

DEFAULT_SCENARIO = {
    "subscriber": "+8613800138000",
    "plan": {"quota_mb": 100, "cycle_day": 1, "timezone": "+08:00", "at_zero": "warn"},
    "traffic": [{"from": "+0s", "mbps": 2}],
    "faults": [],
}

_RELATIVE = re.compile(r"^\+(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
_OFFSET = re.compile(r"^(?:Z|UTC|([+-])(\d\d):(\d\d))$")
_NUMBER = re.compile(r"^\+?\d{3,20}$")


class ScenarioError(ValueError):
    """A scenario that cannot be run; str() is one line naming the field."""


@dataclass(frozen=True)
class Addon:
    """A pack bought at `at_ms`, adding `bytes` to the quota of the cycle it was bought in."""

    at_ms: int
    bytes: int


@dataclass(frozen=True)
class MultiMonth:
    """A pack of `bytes` shared by `months` cycles, from the cycle containing `at_ms`."""

    at_ms: int
    months: int
    bytes: int


@dataclass(frozen=True)
class Plan:
    quota_bytes: int
    cycle_day: int
    utc_offset_min: int
    at_zero: str
    addons: tuple = ()
    multi_month: MultiMonth = None

    @property
    def tz(self):
        return timezone(timedelta(minutes=self.utc_offset_min))


@dataclass(frozen=True)
class TrafficPoint:
    """From `from_ms` on (until the next point) traffic is offered at `mbps` Mbit/s."""

    from_ms: int
    mbps: Fraction


@dataclass(frozen=True)
class Fault:
    at_ms: int
    kind: str
    until_ms: int = None  # phone_off: the phone is unreachable from at_ms until then


@dataclass(frozen=True)
class Message:
    """An SMS the carrier sends to the line at `at_ms` (a notice from 10086, say)."""

    at_ms: int
    sender: str
    text: str
    damaged: bool = False  # the modem stores it with its end cut off, as a radio error leaves it


@dataclass(frozen=True)
class Account:
    """Prepaid: balance and expiry now, a daily fee, top-ups (at_ms, fen).
    Postpaid: the bill (month, fen, due_ms, bill_at_ms) and payments (at_ms, fen) as topups."""

    kind: str = "prepaid"
    balance_fen: int = 0
    expires_ms: int = 0
    daily_fee_fen: int = 0
    topups: tuple = ()
    bill: tuple = None


@dataclass(frozen=True)
class Billing:
    """What the carrier agreed to charge, and the errors its itemised bill will carry."""

    plan_fee_fen: int = 0
    fen_per_mb: int = 29
    discounts: tuple = ()  # (first month, last month, percent off the plan fee), months "YYYY-MM"
    errors: tuple = ()  # (kind, day "YYYY-MM-DD" or None, amount: bytes or fen or fen per MB)
    force_majeure: tuple = ()  # ({"from": day, "to": day, "why": text}, ...), as the agreement states them


@dataclass(frozen=True)
class Scenario:
    start_ms: int
    subscriber: str
    plan: Plan
    traffic: tuple = ()
    faults: tuple = field(default=())
    messages: tuple = ()
    account: Account = None
    services: tuple = ()  # (name, fen a month) of the monthly value-added services in force
    sim: tuple = ()  # (Message, read) already on the SIM at start (at_ms: when it was sent)
    billing: Billing = Billing()
    unassigned: tuple = ()  # numbers the network has no subscriber for: SMS to them are refused


def iso_ms(ms, tz=timezone.utc):
    """Epoch ms as an ISO 8601 string with milliseconds in time zone `tz`."""
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
    return moment.astimezone(tz).isoformat(timespec="milliseconds")


def _show(value, limit=60):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(where, message):
    raise ScenarioError("%s: %s" % (where, message))


def _object(value, where, allowed, required=()):
    if not isinstance(value, dict):
        _fail(where or "scenario", "must be an object, got %s" % _show(value))
    for key in value:
        if key not in allowed:
            _fail("%s.%s" % (where, key) if where else key, "unknown field (known: %s)" % ", ".join(allowed))
    for key in required:
        if key not in value:
            _fail("%s.%s" % (where, key) if where else key, "missing")
    return value


def _number(value, where, minimum=0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        _fail(where, "must be a number, got %s" % _show(value))
    exact = Fraction(str(value))  # 0.1 means one tenth, not the nearest binary float
    if exact < minimum:
        _fail(where, "must be >= %s, got %s" % (minimum, value))
    return exact


def _integer(value, where, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(where, "must be an integer %d..%d, got %s" % (low, high, _show(value)))
    return value


def parse_time(value, where, start_ms=None):
    """An ISO 8601 time with an offset, or "+<n><ms|s|m|h|d>" after `start_ms`, as epoch ms."""
    if not isinstance(value, str):
        _fail(where, "must be a time string, got %s" % _show(value))
    relative = _RELATIVE.match(value)
    if relative:
        if start_ms is None:
            _fail(where, "a relative time needs the scenario's start")
        return start_ms + int(Fraction(relative.group(1)) * _UNIT_MS[relative.group(2)])
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _fail(where, "%r is not an ISO 8601 time like 2026-12-01T08:00:00+08:00" % value)
    if moment.tzinfo is None:
        _fail(where, "%r has no UTC offset (write e.g. %s+08:00)" % (value, value))
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _offset_minutes(value, where):
    match = _OFFSET.match(value) if isinstance(value, str) else None
    if not match:
        _fail(where, "must be a UTC offset like \"+08:00\", got %s" % _show(value))
    if match.group(1) is None:
        return 0
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    if minutes > 14 * 60 or int(match.group(3)) >= 60:
        _fail(where, "offset %s is out of range" % value)
    return -minutes if match.group(1) == "-" else minutes


def _mb_bytes(value, where):
    return int(_number(value, where) * BYTES_PER_MB)


def _plan(data, start_ms):
    _object(data, "plan", ("quota_mb", "cycle_day", "timezone", "at_zero", "addons", "multi_month"), ("quota_mb",))
    at_zero = data.get("at_zero", "warn")
    if at_zero not in AT_ZERO_MODES:
        _fail("plan.at_zero", "must be one of %s, got %s" % ("/".join(AT_ZERO_MODES), _show(at_zero)))
    addons = data.get("addons", [])
    if not isinstance(addons, list):
        _fail("plan.addons", "must be a list")
    parsed = []
    for i, addon in enumerate(addons):
        where = "plan.addons[%d]" % i
        _object(addon, where, ("at", "mb"), ("at", "mb"))
        parsed.append(Addon(parse_time(addon["at"], where + ".at", start_ms), _mb_bytes(addon["mb"], where + ".mb")))
    multi = data.get("multi_month")
    if multi is not None:
        _object(multi, "plan.multi_month", ("at", "months", "mb"), ("months", "mb"))
        at_ms = parse_time(multi["at"], "plan.multi_month.at", start_ms) if "at" in multi else start_ms
        multi = MultiMonth(at_ms, _integer(multi["months"], "plan.multi_month.months", 1, 120), _mb_bytes(multi["mb"], "plan.multi_month.mb"))
    return Plan(
        quota_bytes=_mb_bytes(data["quota_mb"], "plan.quota_mb"),
        cycle_day=_integer(data.get("cycle_day", 1), "plan.cycle_day", 1, 31),
        utc_offset_min=_offset_minutes(data.get("timezone", "+08:00"), "plan.timezone"),
        at_zero=at_zero,
        addons=tuple(sorted(parsed, key=lambda a: a.at_ms)),
        multi_month=multi,
    )


def _traffic(data, start_ms):
    if not isinstance(data, list):
        _fail("traffic", "must be a list")
    points = []
    for i, point in enumerate(data):
        where = "traffic[%d]" % i
        _object(point, where, ("from", "mbps"), ("from", "mbps"))
        from_ms = parse_time(point["from"], where + ".from", start_ms)
        if points and from_ms <= points[-1].from_ms:
            _fail(where + ".from", "must be later than traffic[%d].from" % (i - 1))
        points.append(TrafficPoint(from_ms, _number(point["mbps"], where + ".mbps")))
    return tuple(points)


def _faults(data, start_ms):
    if not isinstance(data, list):
        _fail("faults", "must be a list")
    faults = []
    for i, fault in enumerate(data):
        where = "faults[%d]" % i
        _object(fault, where, ("at", "until") + FAULT_KINDS, ("at",))
        kinds = [kind for kind in FAULT_KINDS if fault.get(kind)]
        if len(kinds) != 1:
            _fail(where, "needs exactly one fault set to true (%s)" % ", ".join(FAULT_KINDS))
        for kind in FAULT_KINDS:
            if kind in fault and fault[kind] not in (True, False):
                _fail("%s.%s" % (where, kind), "must be true or false")
        at_ms = parse_time(fault["at"], where + ".at", start_ms)
        until_ms = None
        if kinds[0] == "phone_off":
            if "until" not in fault:
                _fail(where + ".until", "missing (phone_off needs the time the phone is back)")
            until_ms = parse_time(fault["until"], where + ".until", start_ms)
            if until_ms <= at_ms:
                _fail(where + ".until", "must be later than at")
        elif "until" in fault:
            _fail(where + ".until", "only phone_off has an end")
        faults.append(Fault(at_ms, kinds[0], until_ms))
    return tuple(sorted(faults, key=lambda f: f.at_ms))


def _fen(value, where):
    """Yuan (a number or a string with at most two decimals) as integer fen, exactly."""
    if isinstance(value, str):
        try:
            return money.fen_of_yuan(value)
        except ValueError:
            _fail(where, "must be yuan with at most two decimals, got %s" % _show(value))
    amount = _number(value, where) * 100
    if amount.denominator != 1:
        _fail(where, "must have at most two decimals (fen), got %s" % _show(value))
    return int(amount)


def _payments(data, where, start_ms):
    if not isinstance(data, list):
        _fail(where, "must be a list")
    parsed = []
    for i, topup in enumerate(data):
        here = "%s[%d]" % (where, i)
        _object(topup, here, ("at", "yuan"), ("at", "yuan"))
        parsed.append((parse_time(topup["at"], here + ".at", start_ms), _fen(topup["yuan"], here + ".yuan")))
    return tuple(sorted(parsed))


def _account(data, start_ms):
    kind = data.get("type", "prepaid") if isinstance(data, dict) else None
    if kind == "postpaid":
        _object(data, "account", ("type", "bill_month", "bill_yuan", "due", "bill_at", "payments"),
                ("bill_month", "bill_yuan", "due"))
        bill_at = parse_time(data["bill_at"], "account.bill_at", start_ms) if "bill_at" in data else start_ms
        bill = (_integer(data["bill_month"], "account.bill_month", 1, 12), _fen(data["bill_yuan"], "account.bill_yuan"),
                parse_time(data["due"], "account.due", start_ms), bill_at)
        return Account(kind="postpaid", topups=_payments(data.get("payments", []), "account.payments", start_ms), bill=bill)
    _object(data, "account", ("type", "balance_yuan", "expires", "daily_fee_yuan", "topups"), ("balance_yuan", "expires"))
    if kind != "prepaid":
        _fail("account.type", "must be \"prepaid\" or \"postpaid\", got %s" % _show(kind))
    parsed = _payments(data.get("topups", []), "account.topups", start_ms)
    return Account(
        balance_fen=_fen(data["balance_yuan"], "account.balance_yuan"),
        expires_ms=parse_time(data["expires"], "account.expires", start_ms),
        daily_fee_fen=_fen(data.get("daily_fee_yuan", 0), "account.daily_fee_yuan"),
        topups=tuple(sorted(parsed)),
    )


def _services(data):
    if not isinstance(data, list):
        _fail("services", "must be a list")
    out = []
    for i, service in enumerate(data):
        where = "services[%d]" % i
        _object(service, where, ("name", "price_yuan"), ("name", "price_yuan"))
        if not isinstance(service["name"], str) or not service["name"]:
            _fail(where + ".name", "must be a service name")
        out.append((service["name"], _fen(service["price_yuan"], where + ".price_yuan")))
    return tuple(out)


def _messages(data, start_ms):
    if not isinstance(data, list):
        _fail("messages", "must be a list")
    out = []
    for i, message in enumerate(data):
        where = "messages[%d]" % i
        _object(message, where, ("at", "from", "text", "damaged"), ("at", "text"))
        out.append(_message(message, where, start_ms))
    return tuple(sorted(out, key=lambda m: m.at_ms))


def _flag(message, key, where):
    value = message.get(key, False)
    if not isinstance(value, bool):
        _fail(where + "." + key, "must be true or false, got %s" % _show(value))
    return value


def _message(message, where, start_ms):
    sender = message.get("from", "10086")
    if not isinstance(sender, str) or not sender or len(sender) > 20:
        _fail(where + ".from", "must be a sender number or name, got %s" % _show(sender))
    if not isinstance(message["text"], str) or not message["text"]:
        _fail(where + ".text", "must be a non-empty string")
    return Message(parse_time(message["at"], where + ".at", start_ms), sender, message["text"], _flag(message, "damaged", where))


def _sim(data, start_ms):
    """Messages on the SIM before the device starts (a SIM out of a phone): (Message, read)."""
    if not isinstance(data, list) or len(data) > SIM_SLOTS:
        _fail("sim", "must be a list of at most %d messages" % SIM_SLOTS)
    out = []
    for i, message in enumerate(data):
        where = "sim[%d]" % i
        _object(message, where, ("at", "from", "text", "read", "damaged"), ("text",))
        if isinstance(message["text"], str) and len(message["text"]) > 70:
            _fail(where + ".text", "must fit one SMS (70 characters)")
        out.append((_message(dict(message, at=message.get("at", "+0s")), where, start_ms), _flag(message, "read", where)))
    return tuple(out)


# Billing errors the carrier's bill can carry: kind -> (needs a day, the amount's field).
BILLING_ERRORS = {
    "extra_data": (True, "mb"),  # that day's first data row carries mb more than was used
    "phantom_data": (True, "mb"),  # a data row on that day, for traffic that never happened
    "data_price": (True, "yuan_per_mb"),  # that day's out-of-plan data charged at another price
    "reversed_charge": (True, "yuan"),  # that day's first data row overcharged, then reversed
    "plan_discount_missing": (False, None),  # the plan fee without the promised discount
    "roaming_day_pack": (True, "yuan"),  # a roaming partner's day pack (国际漫游) on that day
    "backcharge": (True, "yuan"),  # a call of that (long past) day charged now (补收), above the tariff
}


def _billing(data):
    _object(data, "billing", ("plan_fee_yuan", "data_yuan_per_mb", "discounts", "errors", "force_majeure"))
    force_majeure = []
    for i, period in enumerate(data.get("force_majeure", [])):
        where = "billing.force_majeure[%d]" % i
        _object(period, where, ("from", "to", "why"), ("from", "to"))
        for key in ("from", "to"):
            if not isinstance(period[key], str) or not re.fullmatch(r"\d{4}-\d\d-\d\d", period[key]):
                _fail(where + "." + key, "must be a day YYYY-MM-DD, got %s" % _show(period[key]))
        force_majeure.append(dict(period))
    discounts = []
    for i, d in enumerate(data.get("discounts", [])):
        where = "billing.discounts[%d]" % i
        _object(d, where, ("from", "to", "percent", "why"), ("from", "to", "percent"))
        for key in ("from", "to"):
            if not isinstance(d[key], str) or not re.fullmatch(r"\d{4}-\d\d", d[key]):
                _fail(where + "." + key, "must be a month YYYY-MM, got %s" % _show(d[key]))
        discounts.append((d["from"], d["to"], _integer(d["percent"], where + ".percent", 0, 100)))
    errors = []
    for i, e in enumerate(data.get("errors", [])):
        where = "billing.errors[%d]" % i
        kind = e.get("kind") if isinstance(e, dict) else None
        if kind not in BILLING_ERRORS:
            _fail(where + ".kind", "must be one of %s, got %s" % (", ".join(BILLING_ERRORS), _show(kind)))
        needs_day, amount_key = BILLING_ERRORS[kind]
        _object(e, where, ("kind", "day", amount_key) if amount_key else ("kind",), ("kind", "day", amount_key) if needs_day else ("kind",))
        if needs_day and not (isinstance(e["day"], str) and re.fullmatch(r"\d{4}-\d\d-\d\d", e["day"])):
            _fail(where + ".day", "must be a day YYYY-MM-DD, got %s" % _show(e["day"]))
        amount = None
        if amount_key == "mb":
            amount = _mb_bytes(e["mb"], where + ".mb")
        elif amount_key:
            amount = _fen(e[amount_key], where + "." + amount_key)
        errors.append((kind, e.get("day"), amount))
    return Billing(_fen(data.get("plan_fee_yuan", 0), "billing.plan_fee_yuan"),
                   _fen(data.get("data_yuan_per_mb", "0.29"), "billing.data_yuan_per_mb"), tuple(discounts), tuple(errors),
                   tuple(force_majeure))


def scenario_source(path, start_ms):
    """The scenario file's JSON (or the default) with its start made explicit: the emulator
    keeps it in STATE/emulator-scenario.json (never in the file it was given) so that later
    commands (emulate bill) see what the board ran."""
    if path is None:
        data = dict(DEFAULT_SCENARIO)
    else:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    data["start"] = iso_ms(start_ms)
    return data


def parse_scenario(data, start_ms=None):
    """Check a decoded scenario; `start_ms` is the start when the scenario names none."""
    _object(data, "", ("start", "subscriber", "plan", "traffic", "faults", "messages", "account", "services", "sim", "billing",
                       "unassigned_numbers", "comment"), ("plan",))
    if "start" in data:
        start_ms = parse_time(data["start"], "start")
    elif start_ms is None:
        _fail("start", "missing (and no start time given by the emulator)")
    subscriber = data.get("subscriber", DEFAULT_SCENARIO["subscriber"])
    if not isinstance(subscriber, str) or not _NUMBER.match(subscriber):
        _fail("subscriber", "must be a phone number like \"+8613800138000\", got %s" % _show(subscriber))
    return Scenario(
        start_ms=start_ms,
        subscriber=subscriber,
        plan=_plan(data["plan"], start_ms),
        traffic=_traffic(data.get("traffic", []), start_ms),
        faults=_faults(data.get("faults", []), start_ms),
        messages=_messages(data.get("messages", []), start_ms),
        account=_account(data["account"], start_ms) if "account" in data else None,
        services=_services(data.get("services", [])),
        sim=_sim(data.get("sim", []), start_ms),
        billing=_billing(data.get("billing", {})),
        unassigned=_numbers(data.get("unassigned_numbers", []), "unassigned_numbers"),
    )


def _numbers(data, where):
    if not isinstance(data, list):
        _fail(where, "must be a list of phone numbers, got %s" % _show(data))
    for i, number in enumerate(data):
        if not isinstance(number, str) or not _NUMBER.match(number):
            _fail("%s[%d]" % (where, i), "must be a phone number like \"+8613800138000\", got %s" % _show(number))
    return tuple(data)


def load_scenario(path=None, start_ms=None):
    """Read and check a scenario file (None: DEFAULT_SCENARIO); errors name the file and field."""
    if path is None:
        return parse_scenario(DEFAULT_SCENARIO, start_ms)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise ScenarioError("%s: cannot read: %s" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise ScenarioError("%s: not valid JSON: %s" % (path, exc)) from None
    try:
        return parse_scenario(data, start_ms)
    except ScenarioError as exc:
        raise ScenarioError("%s: %s" % (path, exc)) from None
