"""The settings table (protocol/settings.py) on both VMs: for every field, good
values and each rule's edges pass, values over an edge and of the wrong type are
refused with "<field>: <rule>"."""

from mpunit import refuses
from protocol import settings
from protocol.settings import MAX_BYTES, MB, check, check_write, rule

BAD_TYPES = (None, True, 1.0, "1", [1], {1: 1})


def _takes(field, values):
    for value in values:
        assert check(field, value) == value, (field, value)


def _refuses(field, values):
    refuses(lambda value: check(field, value), values)
    try:
        check(field, values[0])
    except ValueError as error:
        assert str(error) == field + ": " + rule(field), str(error)


def test_byte_counts_from_0_or_1_to_a_million_mb():
    _takes("quota", (0, 1, 100 * MB, MAX_BYTES))
    _refuses("quota", (-1, MAX_BYTES + 1, -100 * MB) + BAD_TYPES)
    for field in ("addon", "pack"):
        _takes(field, (1, 500 * MB, MAX_BYTES))
        _refuses(field, (0, -500 * MB, MAX_BYTES + 1) + BAD_TYPES)
    assert MAX_BYTES == 1000000 * MB and rule("quota") == "must be between 0 and 1000000 MB"
    assert rule("pack") == rule("addon") == "must be above 0 and at most 1000000 MB"


def test_cycle_day_months_and_the_utc_offset():
    _takes("cycle_day", (1, 15, 31))
    _refuses("cycle_day", (0, 32, -1) + BAD_TYPES)
    _takes("months", (1, 3, 120))
    _refuses("months", (0, 121) + BAD_TYPES)
    _takes("tz", (-720, 0, 480, 840))
    _refuses("tz", (99999, -721, 841) + BAD_TYPES)
    assert rule("tz") == "must be between -720 and 840"


def test_at_zero_is_cut_or_warn():
    _takes("at_zero", ("cut", "warn"))
    _refuses("at_zero", ("stop", "CUT", "", None, 1, ["cut"]))


def test_phone_numbers_are_e164():
    _takes("subscriber", ("+86138", "+8613800138000", "+" + "9" * 15))
    _refuses("subscriber", ("abc", "+8613", "+" + "9" * 16, "8613800138000", "+86 138", "+86１38", "+", "") + BAD_TYPES)
    assert rule("subscriber") == "must be + and 5 to 15 digits"
    _takes("cc", ([], ["+8613900000001"], ["+8613900000001", "+8613900000002", "+8613900000003", "+8613900000004"]))
    _refuses("cc", (["123"], ["+8613900000001"] * 5, ["+8613900000001", None], "+8613900000001", None, {}))


def test_thresholds_strictly_decreasing_from_at_most_a_million_mb_to_0():
    _takes("thresholds", ([0], [10 * MB, 5 * MB, 0], [MAX_BYTES, 1], list(range(8, 0, -1))))
    _refuses("thresholds", ([0, 5 * MB], [5 * MB, 5 * MB], [], list(range(9, 0, -1)), [-1], [MAX_BYTES + 1],
                            [1.0], [True], 10, None, (10, 5)))


def test_texts_of_1_to_600_characters_with_only_the_mb_placeholder():
    _takes("texts", ({}, {0: "x"}, {10 * MB: "还剩{mb}MB，" * 10}, {0: "y" * 600}, {5: "{mb}{mb}"}))
    _refuses("texts", ({0: ""}, {0: "y" * 601}, {0: "还剩{gb}GB"}, {0: "{}"}, {0: "a{b"}, {0: "mb}"}, {0: "{MB}"},
                       {-1: "x"}, {"0": "x"}, {0: 1}, {0: None}, ["x"], "x", None))


def test_low_fen_up_to_1000_yuan():
    _takes("low_fen", (0, 550, 100000))
    _refuses("low_fen", (-1, 100001) + BAD_TYPES)
    assert rule("low_fen") == "must be between 0 and 1000 yuan"


def test_sms_words_upper_cased_different_and_answering_data_or_balance():
    assert check("sms_words", {"ll": "data", "余额": "balance"}) == {"LL": "data", "余额": "balance"}
    eight = dict(("W%d" % i, "data") for i in range(8))
    assert check("sms_words", eight) == eight and check("sms_words", {"X" * 16: "data"}) == {"X" * 16: "data"}
    _refuses("sms_words", ({"CXLL": "weather"}, {}, {"CX LL": "data"}, {"": "data"}, {"X" * 17: "data"}, {1: "data"},
                           {"ll": "data", "LL": "balance"}, dict(("W%d" % i, "data") for i in range(9)), ["CXLL"], None))


def test_a_write_is_checked_whole_unknown_fields_refused():
    assert check_write({"quota": 0, "tz": -720, "subscriber": "+86138"}, settings.PLAN) == {"quota": 0, "tz": -720, "subscriber": "+86138"}
    assert check_write({"sms_words": {"ll": "data"}}, settings.CONFIG) == {"sms_words": {"LL": "data"}}
    for request, fields, reason in (
        ({"quota": 0, "tz": 99999}, settings.PLAN, "tz: must be between -720 and 840"),
        ({"low_fen": 1}, settings.PLAN, "low_fen: unknown setting"),
        ({"colour": "red"}, settings.CONFIG, "colour: unknown setting"),
        ({7: 1}, settings.BALANCE, "7: unknown setting"),
    ):
        try:
            check_write(request, fields)
        except ValueError as error:
            assert str(error) == reason, str(error)
        else:
            raise AssertionError(request)


def test_texts_only_for_the_thresholds_they_will_be_used_with():
    now = {"thresholds": [10 * MB, 5 * MB, 0], "texts": {5 * MB: "x"}}
    assert check_write({"texts": {0: "x"}}, settings.PLAN, now) == {"texts": {0: "x"}}
    assert check_write({"thresholds": [20 * MB, 0], "texts": {20 * MB: "x"}}, settings.PLAN, now)
    assert check_write({"subscriber": "+86138"}, settings.PLAN, {"thresholds": [0], "texts": {5: "x"}})  # left alone
    for request in ({"texts": {20 * MB: "x"}}, {"thresholds": [20 * MB, 0]}, {"thresholds": [0], "texts": {5 * MB: "x"}}):
        refuses(lambda r: check_write(r, settings.PLAN, now), (request,))
    refuses(lambda r: check_write(r, settings.PLAN), ({"thresholds": [0], "texts": {5: "x"}},))
    try:
        check_write({"texts": {1: "x"}}, settings.PLAN, now)
    except ValueError as error:
        assert str(error) == "texts: " + rule("texts")


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
