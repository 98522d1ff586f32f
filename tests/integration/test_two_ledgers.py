"""Two ledgers pull one device in turns (a second technician, a new laptop, a
restored backup): each ledger's chain of the log starts where the other left off,
linked to the head the device attests. No false alarm; and a man in the middle
still cannot pass a forged record off as such a chain start."""

import asyncio
import json

from records_workload import produce

from host_tools import cli
from host_tools.device.requests import LogStatus, RecordsRead
from host_tools.device.session import Device
from host_tools.ledger.evidence_check import verdict as mac_check
from host_tools.ledger.pull import pull, split_frames
from host_tools.ledger.store import open_ledger
from protocol import records


def _pull(capsys, port, ledger):
    status = cli.main(["pull", "--port", port, "--ledger", ledger, "--json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, (json.loads(out) if out else None), err


def _statuses(ledger_path, device):
    with open_ledger(ledger_path, readonly=True) as ledger:
        verdict = mac_check(ledger, device)
    return {seq: st for (_epoch, seq), st in verdict.status.items()}


def test_two_ledgers_in_turns_never_raise_a_false_alarm(emulator, tmp_path, capsys):
    a, b = str(tmp_path / "laptop-a.sqlite"), str(tmp_path / "laptop-b.sqlite")
    assert produce(emulator.port, 12) == 12
    status, first, _err = _pull(capsys, emulator.port, a)  # acknowledges all: the device frees every segment
    assert status == 0 and first.get("linked_at") is None
    n = first["head_seq"]

    assert produce(emulator.port, 5, base_second=100) == 5
    status, second, err = _pull(capsys, emulator.port, b)  # a new ledger: records 1..n are gone from the device
    assert status == 0, err
    assert second["linked_at"] == n and second["new"] == second["head_seq"] - n
    assert second["evidence"]["flagged"] == [] and second["evidence"]["linked_starts"] == [
        {"epoch": second["epoch"], "seq": n + 1}]
    statuses = _statuses(b, second["device"])
    assert statuses[n + 1] == "linked" and set(statuses.values()) == {"linked", "ok"}

    assert produce(emulator.port, 5, base_second=200) == 5
    status, third, err = _pull(capsys, emulator.port, a)  # back to the first ledger: B acknowledged in between
    assert status == 0, err
    assert third["linked_at"] == second["head_seq"]
    statuses = _statuses(a, third["device"])
    first_pull = [statuses[s] for s in range(1, n + 1)]  # from genesis; records before the key are unsigned
    assert first_pull[-12:] == ["ok"] * 12 and set(first_pull) == {"unsigned", "ok"}
    assert statuses[second["head_seq"] + 1] == "linked" and set(statuses.values()) == {"unsigned", "linked", "ok"}

    assert produce(emulator.port, 3, base_second=300) == 3
    status, fourth, err = _pull(capsys, emulator.port, b)
    assert status == 0 and fourth["linked_at"] == third["head_seq"], err

    # ledger check tells a chain start linked to the device from a missing record
    assert cli.main(["ledger", "check", a]) == 0
    out = capsys.readouterr().out
    assert "integrity ok" in out and "missing" not in out
    assert "seq %d..%d: not in this ledger; the chain starts after seq %d, linked to the device's attested head" % (
        n + 1, second["head_seq"], second["head_seq"]) in out
    assert cli.main(["ledger", "check", b, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [gap["linked"] for log in report["logs"] for gap in log["gaps"]] == [True, True]
    assert report["evidence"][0]["flagged"] == []


class ForgesTheFirstRecord(Device):
    """Rewrites the first record a READ response carries (after a genuine attested head)."""

    async def request(self, request, timeout_s=None, retries=0):
        response = await super().request(request, timeout_s, retries)
        if isinstance(request, RecordsRead) and response.recs:
            frames = split_frames(response.recs)
            record = records.decode(records.unframe(frames[0])[0])
            record[9] = "2020-01-01T00:00:00"  # a clock change that never happened
            frames[0] = records.frame(records.body(record.pop(records.K_TYPE), record.pop(records.K_SEQ),
                                                   record.pop(records.K_TIME), {k: v for k, v in record.items() if k >= 8},
                                                   record[records.K_MAC]))
            response = response.model_copy(update={"recs": b"".join(frames)})
        return response


class ForgesTheHead(Device):
    """Gives the attested head another link and a made-up attestation."""

    async def request(self, request, timeout_s=None, retries=0):
        response = await super().request(request, timeout_s, retries)
        if isinstance(request, LogStatus) and response.link is not None:
            response = response.model_copy(update={"link": bytes(16), "att": bytes(16)})
        return response


def test_a_man_in_the_middle_cannot_make_a_forged_record_a_chain_start(emulator, tmp_path, capsys):
    assert produce(emulator.port, 6) == 6
    assert _pull(capsys, emulator.port, str(tmp_path / "first.sqlite"))[0] == 0

    assert produce(emulator.port, 4, base_second=100) == 4
    forged = str(tmp_path / "forged-record.sqlite")
    result = asyncio.run(pull(emulator.port, forged, ForgesTheFirstRecord))
    assert result.linked_at is not None
    assert _statuses(forged, result.device)[result.linked_at + 1] == "bad"  # the genuine link does not fit it
    assert cli.main(["ledger", "check", forged]) == 3
    assert "record %d of epoch %d is bad" % (result.linked_at + 1, result.epoch) in capsys.readouterr().err

    assert produce(emulator.port, 4, base_second=200) == 4
    head = str(tmp_path / "forged-head.sqlite")
    result = asyncio.run(pull(emulator.port, head, ForgesTheHead))
    assert result.linked_at is not None and result.new >= 4
    assert _statuses(head, result.device)[result.linked_at + 1] == "broken"  # the link did not check out
    assert cli.main(["ledger", "check", head]) == 3
    err = capsys.readouterr().err
    assert "the attested head at seq %d of epoch %d does not check out" % (result.linked_at, result.epoch) in err
    assert "record %d of epoch %d is broken" % (result.linked_at + 1, result.epoch) in err
