"""Every setting a host may write, and its rule: one table for the device and the host.

Keyed by the wire field name (protocol/SPEC.md section 5). The firmware checks a
whole write with `check_write` before it changes anything; the CLI checks each
value with `check_write` before it sends, and shows `rule(field)` beside the
option as the user typed it. A refused value raises ValueError("<field>: <rule>"),
which the device sends as the response's "rsn" (rc 3 EINVAL). Rules speak in the
units a technician types (MB, yuan), whatever the wire's (bytes, fen).

Limits, and why:

- byte counts (quota, addon, pack, thresholds): at most MAX_MB, 1,000,000 MB
  (about 0.95 TiB a cycle): far above any mobile plan sold (a few hundred GB),
  below the 2**40 the metering loop stands for "no plan", and every sum of them
  stays exact as a float on the host;
- low_fen: at most 1000 yuan; a low-balance reminder above that is a typo;
- months 1..120 (ten years), cycle_day 1..31, tz -720..840 minutes (UTC-12:00
  to UTC+14:00, the zones in use);
- phone numbers E.164: "+" and 5 to 15 digits; at most 4 cc numbers;
- 1 to 8 thresholds, each below the one before;
- texts of 1 to 600 characters (ten concatenated SMS parts), for a threshold
  in use; "{mb}" (the MB left) the only placeholder: any other brace is refused;
- 1 to 8 sms_words of 1 to 16 characters without blanks, different in any
  case, each answering "data" or "balance"; stored upper case.
"""

from protocol.units import MB

MAX_MB = 1000000
MAX_BYTES = MAX_MB * MB
MAX_LOW_FEN = 100000
MAX_CC = 4
MAX_THRESHOLDS = 8
MAX_TEXT = 600
MAX_WORDS = 8
MAX_WORD = 16
ANSWERS = ("data", "balance")

# A plan written with only a quota gets these (the device's and the CLI's default):
# renewing on the 1st, on Beijing time (UTC+08:00), data cut at 0 MB.
PLAN_DEFAULTS = {"cycle_day": 1, "tz": 480, "at_zero": "cut"}

PLAN = ("quota", "cycle_day", "tz", "at_zero", "addon", "pack", "months", "subscriber", "cc", "thresholds", "texts")
BALANCE = ("low_fen",)
CONFIG = ("sms_words",)
UNKNOWN = "unknown setting"


def _int(value, low, high):
    return type(value) is int and low <= value <= high


def _number(value):
    return isinstance(value, str) and 5 <= len(value) - 1 <= 15 and value[0] == "+" and all("0" <= c <= "9" for c in value[1:])


def _text(value):
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
        return False
    rest = value.replace("{mb}", "")
    return "{" not in rest and "}" not in rest


def _cc(value):
    return isinstance(value, list) and len(value) <= MAX_CC and all(map(_number, value))


def _thresholds(value):
    if not isinstance(value, list) or not 0 < len(value) <= MAX_THRESHOLDS:
        return False
    above = MAX_BYTES + 1
    for t in value:
        if not _int(t, 0, above - 1):
            return False
        above = t
    return True


def _texts(value):
    if not isinstance(value, dict):
        return False
    for t in value:
        if not _int(t, 0, MAX_BYTES) or not _text(value[t]):
            return False
    return True


def _words(value):
    """The map upper-cased, or None."""
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_WORDS:
        return None
    words = {}
    for word, what in value.items():
        if not isinstance(word, str) or not 0 < len(word) <= MAX_WORD or word.split() != [word]:
            return None
        if word.upper() in words or what not in ANSWERS:
            return None
        words[word.upper()] = what
    return words


_BETWEEN = "must be between %d and %d"
_ABOVE = "must be above 0 and at most %d MB"
_E164 = "+ and 5 to 15 digits"
# field: (its check, its rule % the rest of the entry). The check is (lowest,
# highest) of an integer, a list of the values allowed, or a function giving True
# (or the value as stored) if good. Rules are formatted only when one is asked for.
_TABLE = {
    "quota": ((0, MAX_BYTES), "must be between 0 and %d MB", MAX_MB),
    "addon": ((1, MAX_BYTES), _ABOVE, MAX_MB),
    "pack": ((1, MAX_BYTES), _ABOVE, MAX_MB),
    "months": ((1, 120), _BETWEEN),
    "cycle_day": ((1, 31), _BETWEEN),
    "tz": ((-720, 840), _BETWEEN),
    "low_fen": ((0, MAX_LOW_FEN), "must be between 0 and %d yuan", MAX_LOW_FEN // 100),
    "at_zero": (["cut", "warn"], "must be cut or warn"),
    "subscriber": (_number, "must be %s", _E164),
    "cc": (_cc, "must be at most %d numbers, each %s", MAX_CC, _E164),
    "thresholds": (_thresholds, "must be 1 to %d amounts of 0 to %d MB, each below the one before", MAX_THRESHOLDS, MAX_MB),
    "texts": (_texts, "must be 1 to %d characters, for a threshold in use, {mb} the only placeholder", MAX_TEXT),
    "sms_words": (_words, "must be 1 to %d different words of 1 to %d characters without blanks, each %s or %s",
                  MAX_WORDS, MAX_WORD, ANSWERS[0], ANSWERS[1]),
}


def rule(field):
    """What a value of `field` must be, in words."""
    entry = _TABLE.get(field)
    if entry is None:
        return UNKNOWN
    args = entry[2:] or (entry[0] if type(entry[0]) is tuple else ())  # a range's own rule shows the range
    return entry[1] % args if args else entry[1]


def check(field, value):
    """`value` as the device stores it; ValueError("<field>: <rule>") if it breaks the rule."""
    ok = _TABLE[field][0] if field in _TABLE else None
    if type(ok) is tuple:
        good = _int(value, ok[0], ok[1])
    elif type(ok) is list:
        good = value in ok
    else:
        good = ok is not None and ok(value)
    if not good:
        raise ValueError("%s: %s" % (field, rule(field)))
    return value if good is True else good


def check_write(request, fields, current=None):
    """The write map `request` checked, field by field, as the device stores it.

    `fields` are the ones this command takes (PLAN, BALANCE, CONFIG); any other is
    refused. `current` ({"thresholds", "texts"} as they are now) lets texts be
    checked against the thresholds they will be used with. ValueError as `check`.
    """
    checked = {}
    for field in request:
        if field not in fields:
            raise ValueError("%s: %s" % (field, UNKNOWN))
        checked[field] = check(field, request[field])
    if "texts" in checked or "thresholds" in checked:
        after = dict(current or {})
        after.update(checked)
        if "texts" in after and "thresholds" in after and any(t not in after["thresholds"] for t in after["texts"]):
            raise ValueError("texts: " + rule("texts"))
    return checked
