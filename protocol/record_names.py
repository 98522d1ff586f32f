"""Names for the record schema's numbers: how the host shows records to people.

Read off protocol/records.py, the one table: a type `USAGE` is named "usage", its
field `USAGE__UP_BYTES` "up_bytes", a common key `K_TIME` "time". Kept apart from
records.py so the device, which only needs the numbers, builds none of this.
"""

from protocol import records


def _tables():
    constants = {name: getattr(records, name) for name in dir(records) if name.isupper() and not name.startswith("_")}
    common = {number: name[2:].lower() for name, number in constants.items() if name.startswith("K_")}
    types = {}
    for name, number in constants.items():
        type_name, _, field = name.partition("__")
        if field:
            types.setdefault(constants[type_name], (type_name.lower(), {}))[1][number] = field.lower()
    return dict(sorted(common.items())), {number: (name, dict(sorted(fields.items()))) for number, (name, fields) in sorted(types.items())}


COMMON, TYPES = _tables()
