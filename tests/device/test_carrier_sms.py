"""Reading the carrier's messages (firmware/sms/carrier_texts.py), on both VMs."""

from firmware.sms.carrier_texts import classify, fen


def test_money_is_read_exactly_into_fen():
    assert fen("余额12.50元") == (1250, 8)
    assert fen("共0.1元")[0] == 10 and fen("共7元")[0] == 700 and fen("0.29元")[0] == 29
    assert fen("没有金额")[0] is None and fen("约.5元")[0] is None and fen("1.234元")[0] is None
    assert fen("上月12元，本月3.05元", 5)[0] == 305


def test_balance_reply_and_top_up():
    kind, fields = classify("10086", "尊敬的客户，您的账户余额为12.50元，有效期至2026年12月20日。中国移动")
    assert kind == "balance" and fields == {"fen": 1250, "expires": "2026-12-20"}
    kind, fields = classify("10086", "您已成功充值50.00元，当前余额62.50元，有效期至2027年3月20日。中国移动")
    assert kind == "topup" and fields == {"fen": 5000, "balance": 6250, "expires": "2027-03-20"}
    kind, fields = classify("10086", "尊敬的客户,您的账户余额不足10元,为不影响您的正常通信,请您尽快充值交费。谢谢。中国移动")
    assert kind == "low_balance" and fields == {"fen": 1000}


def test_orders_charges_and_the_0000_list():
    kind, fields = classify("10086", "您将订购【彩铃】业务，资费5元/月，回复“是”二次确认订购。中国移动")
    assert kind == "order_request" and fields == {"service": "彩铃", "price": 500}
    kind, fields = classify("10086", "业务扣费提醒：您订购的【手机报】将于首次扣费3元。回复“TD”退订。")
    assert kind == "charge_notice" and fields == {"service": "手机报", "price": 300}
    text = "您已订购的包月业务：\n1.手机报 3元/月\n2.彩铃 5元/月\n回复序号退订，回复0000查询。中国移动"
    kind, fields = classify("10086", text)
    assert kind == "services" and fields["items"] == [[1, "手机报", 300], [2, "彩铃", 500]]
    assert classify("10086", "您目前没有订购包月业务。回复0000查询。中国移动") == ("services", {"items": []})
    assert classify("10086", "您上月信息费合计8.00元。")[0] == "info_fee"
    assert classify("10086", "您已成功退订【手机报】业务。中国移动") == ("cancelled", {"service": "手机报"})


def test_postpaid_bill_and_payment():
    kind, fields = classify("10086", "尊敬的客户，您11月通信消费88.00元，尚有88.00元未缴，缴费截止日期为2026年12月15日。中国移动")
    assert kind == "bill" and fields == {"month": 11, "fen": 8800, "unpaid": 8800, "due": "2026-12-15"}
    kind, fields = classify("10086", "您已成功缴费50.00元，尚有38.00元未缴。中国移动")
    assert kind == "payment" and fields == {"fen": 5000, "unpaid": 3800}


def test_other_senders_and_unknown_texts_are_raw():
    assert classify("+8613900000000", "余额12.50元") == ("raw", {})
    assert classify("10086", "欢迎使用中国移动") == ("raw", {})
    assert classify("10086", "您的套餐将于下月1日变更生效。")[0] == "plan_change"


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
