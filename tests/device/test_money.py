"""Yuan and fen (protocol/money.py) on both VMs: exact, signed, strict."""

from mpunit import refuses
from protocol.money import fen_of_yuan, yuan


def test_reads_yuan_exactly():
    cases = {"12": 1200, "12.5": 1250, "12.50": 1250, "0.05": 5, "-3.00": -300, "+1": 100, " 7.1 ": 710, "0": 0}
    for text, fen in cases.items():
        assert fen_of_yuan(text) == fen, text
    assert fen_of_yuan("99999999.99") == 9999999999  # no float rounding on the way


def test_refuses_what_is_not_an_amount():
    refuses(fen_of_yuan, ("", "-", "1.234", "1.", ".5", "1,5", "1e3", "abc", "--1", "1.2.3", "１"))


def test_prints_yuan():
    assert [yuan(f) for f in (0, 5, 1250, -5, -1250, 100)] == ["0.00", "0.05", "12.50", "-0.05", "-12.50", "1.00"]
    assert [yuan(f, short=True) for f in (1000, 1050, -200)] == ["10", "10.50", "-2"]
    for fen in (-10001, -1, 0, 1, 99, 100, 123456789):
        assert fen_of_yuan(yuan(fen)) == fen


if __name__ == "__main__":
    import mpunit

    mpunit.main(globals())
