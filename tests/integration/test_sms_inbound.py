"""The carrier's messages reach the device: read, classified, recorded, deleted —
more of them than the SIM holds, and those that came while the board was off."""

import os
import signal
import time

from subscriber_view import SUBSCRIBER, pulled_records, sms, start_board, wait_for


def _received(port, tmp_path, capsys):
    return [r["fields"] for r in pulled_records(port, tmp_path, capsys, "sms_received")]


def test_every_carrier_message_is_recorded_and_the_sim_never_fills(tmp_path, capsys):
    notices = [{"at": "+%ds" % (30 + i), "text": "尊敬的客户，您的账户余额为%d.50元。中国移动" % i} for i in range(24)]
    long_notice = "您的套餐将于下月1日变更生效。" + "详情请咨询10086。" * 30
    late = {"at": "+90s", "text": "您已成功充值50.00元，当前余额62.50元，有效期至2027年3月20日。中国移动"}
    plan = {"quota_mb": 100}
    state, board = start_board(tmp_path, plan, [{"from": "+0s", "mbps": 0}], "--speed", "10",
                               "--power-on-delay", "3", start="2026-12-01T08:00:00+08:00",
                               messages=notices + [{"at": "+60s", "text": long_notice}, late])
    try:
        board.wait_ready()
        wait_for(lambda: len(_received(board.port, tmp_path, capsys)) >= 24, 40, "the 24 notices")
        os.kill(board.pid(), signal.SIGKILL)  # off (3 s, 30 simulated) while the rest comes in
        board.wait_ready(timeout=30)
        wait_for(lambda: any(r["kind"] == "topup" for r in _received(board.port, tmp_path, capsys)), 40, "the top-up")
        received = _received(board.port, tmp_path, capsys)
    finally:
        board.stop()
    balances = [r for r in received if r["kind"] == "balance"]
    assert sorted(r["fields"]["fen"] for r in balances) == [i * 100 + 50 for i in range(24)]
    plan_change = [r for r in received if r["kind"] == "plan_change"]
    assert "".join(r["text"] for r in plan_change) == long_notice  # kept whole, in chunks
    (topup,) = [r for r in received if r["kind"] == "topup"]
    assert topup["fields"] == {"fen": 5000, "balance": 6250, "expires": "2027-03-20"}
    assert all(r["from"] == "10086" for r in received)


def _answers(state):
    return [m for m in sms(state) if m["from"] == SUBSCRIBER and m["text"].endswith("【edgemeter】")]


def test_the_subscriber_asks_by_sms_and_gets_the_figures_back(tmp_path, capsys):
    asks = [
        {"at": "+40s", "from": "+8613900000000", "text": "CXLL"},  # somebody else: not answered
        {"at": "+45s", "from": SUBSCRIBER, "text": "cxll"},
    ]
    plan = {"quota_mb": 100, "cycle_day": 1, "timezone": "+08:00"}
    state, board = start_board(tmp_path, plan, [{"from": "+0s", "mbps": 0}], "--speed", "10",
                               start="2026-12-10T08:00:00+08:00", messages=asks)
    try:
        board.wait_ready()
        (reply,) = wait_for(lambda: _answers(state), 40, "the answer")
        time.sleep(1.0)
        received = _received(board.port, tmp_path, capsys)
        replies = _answers(state)
    finally:
        board.stop()
    assert reply["text"] == "您本月套餐剩余流量100.00MB，已用0.00MB，本周期至12月31日。【edgemeter】"
    assert len(replies) == 1
    assert sorted(r["from"] for r in received) == sorted(["+8613900000000", SUBSCRIBER])  # both recorded


def test_a_full_sim_from_an_old_phone_is_emptied_and_a_damaged_message_is_kept(tmp_path, capsys):
    old = [{"at": "2026-10-%02dT12:00:00+08:00" % (i + 1), "from": "+861390000%04d" % i, "text": "old message %d" % i,
            "read": i % 2 == 0} for i in range(20)]
    new = [{"at": "+20s", "text": "尊敬的客户，您的账户余额为%d.00元。中国移动" % i} for i in range(3)]
    damaged = {"at": "+25s", "text": "您已成功充值50.00元，当前余额62.50元，有效期至2027年3月20日。中国移动", "damaged": True}
    state, board = start_board(tmp_path, {"quota_mb": 100}, [{"from": "+0s", "mbps": 0}], "--speed", "10",
                               start="2026-12-01T08:00:00+08:00", sim=old, messages=new + [damaged])
    try:
        board.wait_ready()
        wait_for(lambda: len(_received(board.port, tmp_path, capsys)) >= 24, 60, "24 messages")
        time.sleep(1.0)
        received = _received(board.port, tmp_path, capsys)
    finally:
        board.stop()
    assert sorted(r["text"] for r in received if r["from"].startswith("+86139")) == sorted(m["text"] for m in old)
    assert sorted(r["fields"]["fen"] for r in received if r["kind"] == "balance") == [0, 100, 200]
    (broken,) = [r for r in received if r["kind"] == "undecodable"]
    assert broken["fields"]["error"] == "PDU truncated in user data"
    assert len(received) == 24  # each once
    with open(state / "modem.log", encoding="utf-8") as f:
        deletes = [line for line in f if "AT+CMGD=" in line]
    assert len(deletes) >= 24  # every slot it read was freed


def test_query_words_set_over_smp_are_the_ones_answered(tmp_path, capsys):
    from host_tools import cli

    asks = [{"at": "+60s", "from": SUBSCRIBER, "text": "CXLL"}, {"at": "+70s", "from": SUBSCRIBER, "text": "ll"}]
    state, board = start_board(tmp_path, {"quota_mb": 100}, [{"from": "+0s", "mbps": 0}], "--speed", "5",
                               start="2026-12-10T08:00:00+08:00", messages=asks)
    try:
        board.wait_ready()
        assert cli.main(["config", "set", "sms_words", "LL=data,YE=balance", "--port", board.port]) == 0
        assert capsys.readouterr().out.split() == ["sms_words", "LL=data,YE=balance"]
        assert cli.main(["config", "set", "sms_words", "LL=weather", "--port", board.port]) == 2  # refused before sending
        assert capsys.readouterr().err.startswith("edgemeter: sms_words LL=weather: must be")
        reply = wait_for(lambda: _answers(state), 60, "the answer")
        time.sleep(1.0)
        replies = _answers(state)
    finally:
        board.stop()
    assert len(replies) == 1 and reply[0]["text"].startswith("您本月套餐剩余流量100.00MB")
