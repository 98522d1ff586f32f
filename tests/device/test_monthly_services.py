"""The monthly services (firmware/account/services.py) on both VMs: built from
10086's messages; "0000" and cancellations go out through the outbox."""

# The outbox brings the modem driver and SMS codec: their bytecode is in the heap.
HEAP = "128k"

import flash_fixture  # first: its flash buffer is allocated while the heap is empty

import os

from mpunit import refuses
from firmware.account.services import Services
from firmware.sms.outbox import Outbox


def _setup():
    folder = flash_fixture.fresh_dir("state", 512, 32)
    os.mkdir(folder)
    outbox = Outbox(None, lambda rtype, fields: None, folder + "/outbox")
    return Services(outbox, folder + "/subscriptions"), outbox, folder


def test_order_confirmation_charge_notice_and_cancel_are_each_noted():
    subs, _outbox, folder = _setup()
    subs.on_message("order_request", {"service": "彩铃", "price": 500}, 100)
    subs.on_message("order_confirmed", {"service": "彩铃", "price": 500}, 200)
    subs.on_message("charge_notice", {"service": "手机报", "price": 300}, 300)
    subs.on_message("cancelled", {"service": "手机报"}, 400)
    assert not subs.on_message("balance", {"fen": 1}, 500)
    again = Services(subs.outbox, folder + "/subscriptions")  # after a power cut
    ring, news = again.services["彩铃"], again.services["手机报"]
    assert (ring["ordered"], ring["confirmed"], ring["price"], ring["cancelled"]) == (100, 200, 500, None)
    assert (news["ordered"], news["charge_notice"], news["cancelled"]) == (None, 300, 400)


def test_0000_and_cancel_go_to_10086_and_the_list_is_kept():
    subs, outbox, _folder = _setup()
    subs.query()
    subs.on_message("services", {"items": [[1, "手机报", 300], [2, "彩铃", 500]]}, 60)
    subs.cancel([2, 1])
    assert [(m["to"], m["text"]) for m in outbox.messages] == [("10086", "0000"), ("10086", "2 1")]
    assert subs.listed == {"time": 60, "items": [[1, "手机报", 300], [2, "彩铃", 500]]}
    assert subs.services["彩铃"]["number"] == 2
    refuses(subs.cancel, ([], [0], ["1"], None))


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
