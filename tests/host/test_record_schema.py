"""protocol/SPEC.md's record CDDL against protocol/records.py, the one table of the schema.

Every type in the CDDL's `record-type` is a constant of records.py with the same
number, every field of its group a `TYPE__FIELD` constant with the same key and
name, and back: nothing in either that the other lacks. So the document a peer
implements from cannot drift from what the firmware writes and the host reads.
"""

import pathlib
import re

from protocol import record_names, records

SPEC = pathlib.Path(__file__).resolve().parents[2] / "protocol" / "SPEC.md"


def _cddl():
    text = SPEC.read_text()
    return text[text.index("```cddl\nrecord = {") : text.index("```\n", text.index("```cddl\nrecord = {") + 8)]


def _enum(cddl, name):
    """{member: number} of a CDDL choice `name = &(a: 0, b-c: 1)`."""
    body = re.search(r"^%s\s*=\s*&\(([^)]*)\)" % re.escape(name), cddl, re.M).group(1)
    return {member.strip(): int(number) for member, number in re.findall(r"([\w-]+):\s*(\d+)", body)}


def _group(cddl, name):
    """{key: field name} of a CDDL group `name = ( N => type, ; field: ... )`, one entry a line."""
    body = re.search(r"^%s\s*=\s*\((.*?)^\)" % re.escape(name), cddl, re.M | re.S).group(1)
    fields = {}
    for line in body.strip().splitlines():
        entry = re.match(r"\s*(\?\s*)?(\d+)\s*=>\s*[^;]+;\s*(\w+)", line)
        assert entry, "%s: not one field a line with its name: %r" % (name, line)
        fields[int(entry.group(2))] = entry.group(3)
    return fields


def test_the_cddl_types_are_the_schema_types():
    spec_types = _enum(_cddl(), "record-type")
    assert {name.replace("-", "_"): number for name, number in spec_types.items()} == {
        name: number for number, (name, _fields) in record_names.TYPES.items()}
    assert sorted(spec_types.values()) == list(range(1, records.TYPE_LAST + 1))


def test_each_type_has_the_cddl_fields_by_key_and_name():
    cddl = _cddl()
    for number, (name, fields) in record_names.TYPES.items():
        assert _group(cddl, name.replace("_", "-")) == fields, name
        assert min(fields) >= records.FIRST_FIELD


def test_the_common_keys_are_the_cddl_record_map():
    cddl = _cddl()
    body = cddl[cddl.index("record = {") : cddl.index("}\n")]
    named = {int(key): field for key, field in re.findall(r"^\s*\??\s*(\d+) =>[^;]+;\s*(\w+)", body, re.M)}
    assert named == record_names.COMMON


def test_the_enumerations_are_the_schema_values():
    cddl = _cddl()
    assert [name for name, _n in sorted(_enum(cddl, "boot-reason").items(), key=lambda item: item[1])] == list(records.BOOT_REASONS)
    assert _enum(cddl, "counter-source") == {"modem-counter": records.SOURCE_MODEM_COUNTER}
    assert _enum(cddl, "cut-reason") == {"at-zero": records.REASON_AT_ZERO, "quota": records.REASON_QUOTA,
                                         "snooze": records.REASON_SNOOZE}
    assert _enum(cddl, "balance-source") == {"query": records.BALANCE_FROM_QUERY, "topup": records.BALANCE_FROM_TOPUP}
