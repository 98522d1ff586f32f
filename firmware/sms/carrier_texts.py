"""What a message from the carrier says: its kind and the figures in it.

China Mobile's service number 10086 writes in a few fixed shapes (seed facts
§2, §5); `classify(sender, text)` returns (kind, fields) for them, and
("raw", {}) for anything else, which is then kept whole. Money is integer fen
(分), read from "12.50元" exactly, never through a float.

kinds and fields:
- "balance":  a balance reply or notice: fen, and expires (YYYY-MM-DD) if given;
- "topup":    a top-up: fen (the amount paid in), balance (fen) and expires if given;
- "low_balance": the carrier's own 余额不足 warning: fen (the threshold);
- "order_request": 二次确认, an order waiting for the subscriber's reply: service, price;
- "order_confirmed": an order now in force: service, price;
- "charge_notice": 业务扣费提醒 before a first deduction: service, price;
- "services": the reply to "0000": items [[number, service, price], ...];
- "cancelled": a service cancelled (退订成功): service;
- "info_fee": the monthly information-service total: fen;
- "bill":     a postpaid bill: month, fen (the month's total), unpaid (fen), due (YYYY-MM-DD);
- "payment":  a postpaid payment: fen (paid), unpaid (fen still due);
- "plan_change": a plan ordered, changed, or taking effect;
- "raw": anything else, or a sender that is not a service number.
"""

from protocol import money

SERVICE_NUMBERS = ("10086",)


def fen(text, after=0):
    """(fen, end) of the first "<yuan>元" amount at or after `after`; (None, -1) if none."""
    end = text.find("元", after)
    while end >= 0:
        start = end
        # One-character slices, not text[i]: MicroPython interns a one-character
        # string made by indexing (see protocol/sms_pdu.py), a slice it does not.
        while start > 0 and (text[start - 1 : start].isdigit() or text[start - 1 : start] == "."):
            start -= 1
        number = text[start:end]
        if number and number[0].isdigit():
            try:
                return money.fen_of_yuan(number), end + 1
            except ValueError:
                pass  # "1.2.3元" or three decimals: not an amount
        end = text.find("元", end + 1)
    return None, -1


def _date(text):
    """YYYY-MM-DD from "2026年12月20日" in text, or None."""
    year = text.find("年")
    if year < 4:
        return None
    month = text.find("月", year)
    day = text.find("日", month)
    y, m, d = text[year - 4 : year], text[year + 1 : month], text[month + 1 : day]
    if not (y.isdigit() and m.isdigit() and d.isdigit()) or month < 0 or day < 0:
        return None
    return "%s-%02d-%02d" % (y, int(m), int(d))


def _quoted(text):
    """The service name between 【】 or “”, if any."""
    for left, right in (("【", "】"), ("“", "”"), ("\"", "\"")):
        start = text.find(left)
        end = text.find(right, start + 1)
        if start >= 0 and end > start + 1:
            return text[start + 1 : end]
    return None


def _services(text):
    items = []
    for line in text.replace("；", "\n").replace(";", "\n").split("\n"):
        line = line.strip()
        dot = line.find(".")
        if dot > 0 and line[:dot].isdigit():
            price, _end = fen(line)
            name = line[dot + 1 :].split(" ")[0].split("，")[0]
            items.append([int(line[:dot]), name, price])
    return items


def classify(sender, text):
    if sender not in SERVICE_NUMBERS:
        return "raw", {}
    if "成功退订" in text or "退订成功" in text:
        return "cancelled", {"service": _quoted(text)}
    if "0000" in text and "退订" in text and _services(text):
        return "services", {"items": _services(text)}
    if "0000" in text and "没有订购" in text:  # the "0000" reply of a line with no monthly services
        return "services", {"items": []}
    if "二次确认" in text or ("回复" in text and "确认" in text and "订购" in text):
        return "order_request", {"service": _quoted(text), "price": fen(text)[0]}
    if "扣费" in text and "提醒" in text:
        return "charge_notice", {"service": _quoted(text), "price": fen(text)[0]}
    if "已成功订购" in text or "订购成功" in text:
        if "套餐" in text or "流量包" in text:
            return "plan_change", {}
        return "order_confirmed", {"service": _quoted(text), "price": fen(text)[0]}
    if "未缴" in text and "消费" in text:
        month = text.find("月")
        digits = text[max(0, month - 2) : month]
        digits = digits[1:] if not digits[:1].isdigit() else digits
        total, end = fen(text)
        fields = {"month": int(digits) if digits.isdigit() else None, "fen": total, "unpaid": fen(text, end)[0]}
        if _date(text):
            fields["due"] = _date(text)
        return "bill", fields
    if "缴费" in text and "成功" in text:
        paid, end = fen(text)
        return "payment", {"fen": paid, "unpaid": fen(text, end)[0] if end > 0 else None}
    if "信息费" in text:
        return "info_fee", {"fen": fen(text)[0]}
    if "充值" in text and "成功" in text:
        paid, end = fen(text)
        fields = {"fen": paid, "balance": fen(text, end)[0] if end > 0 else None}
        if _date(text):
            fields["expires"] = _date(text)
        return "topup", fields
    if "余额不足" in text:
        return "low_balance", {"fen": fen(text)[0]}
    if "余额" in text:
        fields = {"fen": fen(text)[0]}
        if _date(text):
            fields["expires"] = _date(text)
        return "balance", fields
    if "套餐" in text and ("变更" in text or "生效" in text):
        return "plan_change", {}
    return "raw", {}
