"""Bill import (host_tools/billing/bill.py): both schemas read alike and exactly, bad rows named."""

import pytest

from host_tools.billing.bill import BillError, detect_encoding, read_bill

EXAMPLES = __import__("pathlib").Path(__file__).parents[2] / "docs" / "examples"
SAME = ("kind", "start", "bytes", "seconds", "number", "discount_fen", "charge_fen", "roaming")


def _facts(items):
    return [tuple(getattr(item, name) for name in SAME) for item in items]


def test_the_documented_examples_read_the_same_in_both_schemas():
    english = list(read_bill(str(EXAMPLES / "bill-2026-11.csv")))
    carrier = list(read_bill(str(EXAMPLES / "carrier-export-2026-11.csv")))
    assert detect_encoding(str(EXAMPLES / "carrier-export-2026-11.csv")) == "gb18030"
    key = lambda facts: (facts[0], facts[1])  # noqa: E731  (sections come in another order)
    assert sorted(_facts(english), key=key) == sorted(_facts(carrier), key=key)
    plan, data1, data2, roaming = english[:4]
    assert (plan.kind, plan.item, plan.discount_fen, plan.charge_fen) == ("plan", "4G飞享套餐58元", 2900, 2900)
    assert (data1.bytes, data1.seconds, data1.discount_fen, data1.charge_fen) == (10 * 1048576, 3723, 290, 0)
    assert data2.bytes == 20 * 1048576 and data2.charge_fen == 580 and not data2.roaming
    assert roaming.roaming and roaming.charge_fen == 3000
    assert [i.kind for i in english[4:]] == ["voice", "sms", "sms", "mms", "service"]
    assert english[4].seconds == 83 and english[8].item == "视频会员" and english[8].provider == "某视频公司"
    assert english[1].where().endswith("bill-2026-11.csv:3")


def test_utf8_with_a_byte_order_mark_and_gb18030_read_alike(tmp_path):
    text = (EXAMPLES / "carrier-export-2026-11.csv").read_bytes().decode("gb18030")
    (tmp_path / "utf8.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert _facts(read_bill(str(tmp_path / "utf8.csv"))) == _facts(read_bill(str(EXAMPLES / "carrier-export-2026-11.csv")))


HEADER = "type,start,location,network,duration_s,volume_kb,number,item,provider,discount_yuan,charge_yuan\n"
GOOD = "data,2026-11-03 08:30:00,广州,4G,,1024,,,,0.00,0.00\n"


@pytest.mark.parametrize("row, column, message", [
    ("data,2026-11-03 08:30:00,广州,4G,,1024,,,,0.00,1.234\n", "charge_yuan", "amount in yuan"),
    ("data,2026-11-03 08:30:00,广州,4G,,1024,,,,0.00,1,00\n", None, "12 cells where the header has 11"),
    ("data,2026-11-31 08:30:00,广州,4G,,1024,,,,0.00,0.00\n", "start", "no such time"),
    ("data,yesterday,广州,4G,,1024,,,,0.00,0.00\n", "start", "expected a time"),
    ("data,2026-11-03 08:30:00,广州,4G,,1.5,,,,0.00,0.00\n", "volume_kb", "whole number of KB"),
    ("data,2026-11-03 08:30:00,广州,4G,,,,,,0.00,0.00\n", "volume_kb", "a data row needs volume_kb"),
    ("fax,2026-11-03 08:30:00,广州,4G,,1,,,,0.00,0.00\n", "type", "expected one of"),
    ("voice,2026-11-03 08:30:00,广州,,ten,,139,,,0.00,0.00\n", "duration_s", "expected a duration"),
    ("data,2026-11-03 08:30:00,广州,4G,,1024,,,,0.00,\n", "charge_yuan", "amount in yuan"),
])
def test_a_malformed_row_names_file_line_and_column(tmp_path, row, column, message):
    path = tmp_path / "bill.csv"
    path.write_text(HEADER + GOOD + row + GOOD, encoding="utf-8")
    with pytest.raises(BillError, match=message) as caught:
        list(read_bill(str(path)))
    assert (caught.value.path, caught.value.line, caught.value.column) == (str(path), 3, column)
    assert str(caught.value).startswith("%s:3" % path)


def test_bad_headers_and_files(tmp_path):
    cases = {
        "missing.csv": ("type,start\n" + "data,2026-11-03 08:30:00\n", "lacks column"),
        "empty.csv": ("\n\n", "empty bill"),
        "preamble.csv": ("客户姓名,张三\n账期,2026年11月\n", "no section title"),
        "orphan.csv": ("一,二,三\n1,2,3\n", "before any section title"),
        "nohead.csv": ("上网详单\n", "no header row"),
        "cnmissing.csv": ("上网详单\n起始时间,通信地点\n2026-11-03 08:30:00,广州\n", "lacks column"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(BillError, match=message):
            list(read_bill(str(tmp_path / name)))
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81\x30\x81" * 3)
    with pytest.raises(BillError, match="neither UTF-8 nor GB18030"):
        list(read_bill(str(tmp_path / "binary.csv")))
    with pytest.raises(BillError, match="cannot read"):
        list(read_bill(str(tmp_path / "absent.csv")))


def test_volumes_durations_and_money_in_the_carriers_spellings(tmp_path):
    rows = ["上网详单", "起始时间,通信地点,上网方式,上网时长,总流量,套餐优惠,通信费"]
    for volume, duration, charge in (("1.5MB", "00:01:23", "¥0.44"), ("2GB", "1分", "12元"), ("0.5KB", "45秒", "-0.10")):
        rows.append("2026/11/3 8:30,广州,4G网络,%s,%s,0.00,%s" % (duration, volume, charge))
    (tmp_path / "b.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    items = list(read_bill(str(tmp_path / "b.csv")))
    assert [(i.bytes, i.seconds, i.charge_fen) for i in items] == [(1572864, 83, 44), (2 * 1024**3, 60, 1200), (512, 45, -10)]
    assert items[0].start == "2026-11-03 08:30:00"


def test_the_carriers_export_gives_its_phone_number(tmp_path):
    preamble = {}
    items = list(read_bill(str(EXAMPLES / "carrier-export-2026-11.csv"), preamble))
    assert items and preamble["手机号码"] == "13800138000" and preamble["账期"] == "2026年11月"
    (tmp_path / "b.csv").write_text("手机号码：,+86 138 0013 8001\n上网详单\n起始时间,通信地点,上网方式,总流量,套餐优惠,通信费\n"
                                    "2026-11-03 08:30:00,广州,4G网络,1KB,0.00,0.00\n", encoding="utf-8")
    preamble = {}
    list(read_bill(str(tmp_path / "b.csv"), preamble))
    assert preamble == {"手机号码": "+86 138 0013 8001"}
