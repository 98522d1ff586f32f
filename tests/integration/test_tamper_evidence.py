"""Tamper-evident records end to end: a man in the middle of the serial line swaps one
record for a forged one on its way to the ledger. The frame is well formed, with
the right seq and a good CRC, but it carries the wrong MAC. `edgemeter pull` stores it,
flags it and exits 3. `edgemeter reconcile` leaves it out of the evidence and says so."""

import asyncio
import json

from records_workload import produce

from host_tools import cli
from host_tools.device.requests import RecordsRead
from host_tools.device.session import Device
from host_tools.ledger.evidence_check import verdict as mac_check
from host_tools.ledger.pull import pull, split_frames
from host_tools.ledger.store import open_ledger
from protocol import records

FORGED_SEQ = 7


class ManInTheMiddle(Device):
    """Passes everything through, but rewrites record FORGED_SEQ in READ responses."""

    async def request(self, request, timeout_s=None, retries=0):
        response = await super().request(request, timeout_s, retries)
        if isinstance(request, RecordsRead):
            frames = []
            for frame in split_frames(response.recs):
                record = records.decode(records.unframe(frame)[0])
                if record[records.K_SEQ] == FORGED_SEQ:
                    record[9] = "2020-01-01T00:00:00"  # a clock change that never happened
                    frame = records.frame(records.body(record.pop(records.K_TYPE), FORGED_SEQ, record.pop(records.K_TIME),
                                                       {k: v for k, v in record.items() if k >= 8}, record[records.K_MAC]))
                frames.append(frame)
            response = response.model_copy(update={"recs": b"".join(frames)})
        return response


def test_a_record_forged_on_the_line_is_flagged_and_left_out(emulator, tmp_path, capsys):
    assert produce(emulator.port, 12) == 12  # signed clock writes: 12 config_changed records
    ledger = str(tmp_path / "ledger.sqlite")
    result = asyncio.run(pull(emulator.port, ledger, ManInTheMiddle))
    assert result.new >= 12
    with open_ledger(ledger) as opened:
        verdict = mac_check(opened, result.device)
    assert [(seq, status) for _epoch, seq, status in verdict.flagged()] == [(FORGED_SEQ, "bad")]
    assert verdict.counts["ok"] >= 11  # all the others check out

    assert produce(emulator.port, 1, base_second=100) == 1
    assert cli.main(["pull", "--port", emulator.port, "--ledger", ledger]) == 3  # flagged again
    err = capsys.readouterr().err
    assert "record %d of epoch" % FORGED_SEQ in err and "failed their MAC check" in err

    bill = tmp_path / "bill.csv"
    bill.write_text("type,start,item,charge_yuan\nplan,2026-11-01 00:00:00,套餐月费,0.00\n", encoding="utf-8")
    assert cli.main(["reconcile", "--ledger", ledger, "--bill", str(bill), "--account", "prepaid", "--today", "2026-12-20",
                     "--agreement", str(_agreement(tmp_path)), "--json"]) == 0, capsys.readouterr().err
    evidence = json.loads(capsys.readouterr().out)["evidence"]
    assert evidence["key_known"] and evidence["flagged"] == [{"epoch": result.epoch, "seq": FORGED_SEQ, "status": "bad"}]


def _agreement(tmp_path):
    path = tmp_path / "agreement.json"
    path.write_text(json.dumps({"plan_quota_mb": 100}), encoding="utf-8")
    return path
