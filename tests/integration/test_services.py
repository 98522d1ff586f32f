"""`edgemeter services`: the "0000" list through the device, and cancelling from it."""

import json

from subscriber_view import network, start_board

from host_tools import cli


def test_list_then_cancel_through_10086(tmp_path, capsys):
    services = [{"name": "手机报", "price_yuan": 3}, {"name": "彩铃", "price_yuan": 5}, {"name": "游戏包", "price_yuan": 10}]
    state, board = start_board(tmp_path, {"quota_mb": 100}, [], "--speed", "10", services=services)
    try:
        board.wait_ready()
        assert cli.main(["services", "list", "--port", board.port, "--json"]) == 0, capsys.readouterr().err
        listed = json.loads(capsys.readouterr().out)["listed"]["items"]
        assert listed == [[1, "手机报", 300], [2, "彩铃", 500], [3, "游戏包", 1000]]
        assert cli.main(["services", "cancel", "--port", board.port, "1", "3"]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        carrier = network(state)["services"]
        assert cli.main(["services", "cancel", "--port", board.port, "7"]) == 1
        err = capsys.readouterr().err
    finally:
        board.stop()
    assert "cancelled   手机报" in out and "cancelled   游戏包" in out
    assert carrier == {"active": ["彩铃"], "cancelled": ["手机报", "游戏包"]}
    assert "no item [7] in the last 0000 list" in err
