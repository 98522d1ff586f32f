"""The emulated carrier's bill (host_tools/emulator/bill_writer.py): rows from its session
records, charges by the agreement, each planted error where the scenario put it, and both
formats reading back (host_tools/billing/bill.py) to the same items."""

import json

from host_tools.billing.bill import read_bill
from host_tools.emulator.bill_writer import BillWriter

MB = 1048576
SCENARIO = {
    "start": "2026-11-27T12:00:00+08:00",
    "plan": {"quota_mb": 2, "timezone": "+08:00"},
    "services": [{"name": "视频会员", "price_yuan": 15}],
    "billing": {
        "plan_fee_yuan": "58.00",
        "discounts": [{"from": "2026-11", "to": "2026-11", "percent": 50}],
        "force_majeure": [{"from": "2026-11-28", "to": "2026-11-28"}],
        "errors": [
            {"kind": "extra_data", "day": "2026-11-28", "mb": 1},
            {"kind": "phantom_data", "day": "2026-11-30", "mb": 2},
            {"kind": "data_price", "day": "2026-11-29", "yuan_per_mb": "0.50"},
            {"kind": "reversed_charge", "day": "2026-11-29", "yuan": "3.00"},
            {"kind": "roaming_day_pack", "day": "2026-11-30", "yuan": "9.00"},
            {"kind": "backcharge", "day": "2024-06-01", "yuan": "5.00"},
        ],
    },
}
SESSIONS = [  # what the carrier carried: one session over three days, one in December
    {"start": "2026-11-27T12:00:00.000+08:00", "days": {"2026-11-27": 3 * MB, "2026-11-28": 4 * MB, "2026-11-29": 2 * MB + 5}},
    {"start": "2026-12-01T08:00:00.000+08:00", "days": {"2026-12-01": MB}},
]


def _state(tmp_path, scenario=SCENARIO):
    (tmp_path / "emulator-scenario.json").write_text(json.dumps(scenario, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "cdr.jsonl").write_text("".join(json.dumps(s) + "\n" for s in SESSIONS), encoding="utf-8")
    return BillWriter(str(tmp_path))


def _items(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return [(i.kind, i.start, i.bytes, i.seconds, i.charge_fen, i.roaming) for i in read_bill(str(tmp_path / name))]


def test_both_formats_carry_the_same_rows_with_the_planted_errors(tmp_path):
    writer = _state(tmp_path)
    carrier = _items(tmp_path, "carrier.csv", writer.carrier_export("2026-11"))
    english = _items(tmp_path, "english.csv", writer.english_csv("2026-11"))
    assert sorted(carrier) == sorted(english)
    rows = {(kind, start): (n, seconds, fen, roaming) for kind, start, n, seconds, fen, roaming in english if fen >= 0}
    assert rows[("plan", "2026-11-01 00:00:00")] == (0, 0, 2900, False)  # half price, as promised
    # 3 MB on the 27th: 2 MB in the plan, 1 MB at 0.29; the 28th: 4 MB + 1 MB planted.
    assert rows[("data", "2026-11-27 12:00:00")] == (3 * MB, 0, 29, False)
    assert rows[("data", "2026-11-28 00:00:00")] == (5 * MB, 0, 145, False)
    # The 29th at 0.50 a MB (2 MB and a KB: the row rounds up to whole KB), plus 3.00 reversed.
    assert rows[("data", "2026-11-29 00:00:00")] == (2 * MB + 1024, 0, -(-(2 * MB + 1024) * 50 // MB) + 300, False)
    reversal = [r for r in english if r[4] == -300]
    assert reversal == [("data", "2026-11-29 00:00:00", 0, 0, -300, False)]
    assert rows[("data", "2026-11-30 12:00:00")] == (2 * MB, 0, 58, False)
    assert rows[("data", "2026-11-30 20:00:00")] == (0, 0, 900, True)
    assert rows[("voice", "2024-06-01 10:00:00")] == (0, 60, 500, False)
    assert rows[("service", "2026-11-01 00:00:00")] == (0, 0, 1500, False)
    assert not any(start.startswith("2026-12") for _k, start, *_ in english)
    assert writer.agreement() == {"plan_fee_yuan": "58.00", "data_yuan_per_mb": "0.29", "force_majeure": [{"from": "2026-11-28", "to": "2026-11-28"}],
                                  "discounts": [{"item": "plan", "from": "2026-11", "to": "2026-11", "percent": 50}]}


def test_an_honest_month_bills_what_was_carried_at_the_agreed_prices(tmp_path):
    writer = _state(tmp_path, dict(SCENARIO, billing={"plan_fee_yuan": "58.00"}))
    rows = _items(tmp_path, "honest.csv", writer.english_csv("2026-11"))
    data = [r for r in rows if r[0] == "data"]
    assert [r[2] for r in data] == [3 * MB, 4 * MB, 2 * MB + 1024]
    assert [r[4] for r in data] == [29, 116, -(-(2 * MB + 1024) * 29 // MB)]  # quota 2 MB, then 0.29 a MB
    assert [r for r in rows if r[0] == "plan"][0][4] == 5800
