"""The CLI checks settings with the device's own table (protocol/settings.py) before
it opens the port: a value the device would refuse is one line naming the option as
typed and the rule, exit status 2 (bad input), and nothing is sent."""

import pytest

from host_tools import cli

NO_PORT = "/dev/does-not-exist"  # opening it would say "cannot open ...": the check comes first


def _refused(capsys, *argv):
    status = cli.main(list(argv) + ["--port", NO_PORT])
    out, err = capsys.readouterr()
    assert status == 2 and out == "", (status, out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err.rstrip("\n")


@pytest.mark.parametrize("argv, line", [
    (["--subscriber", "abc"], "--subscriber abc: must be + and 5 to 15 digits"),
    (["--quota-mb", "-100"], "--quota-mb -100: must be between 0 and 1000000 MB"),
    (["--addon-mb", "-500"], "--addon-mb -500: must be above 0 and at most 1000000 MB"),
    (["--tz-minutes", "99999"], "--tz-minutes 99999: must be between -720 and 840"),
    (["--quota-mb", "100", "--tz-minutes", "99999"], "--tz-minutes 99999: must be between -720 and 840"),
    (["--quota-mb", "1000001"], "--quota-mb 1000001: must be between 0 and 1000000 MB"),
    (["--pack-mb", "3000", "--months", "121"], "--months 121: must be between 1 and 120"),
    (["--quota-mb", "10", "--cycle-day", "40"], "--cycle-day 40: must be between 1 and 31"),
    (["--cc", "+8613900000001", "--cc", "12345"], "--cc 12345: must be at most 4 numbers, each + and 5 to 15 digits"),
    (["--cc", "+8613900000001"] * 5,
     "--cc " + " --cc ".join(["+8613900000001"] * 5) + ": must be at most 4 numbers, each + and 5 to 15 digits"),
    (["--thresholds-mb", "10;5;0"], "--thresholds-mb 10;5;0: must be MB amounts separated by commas, e.g. 20,10,5,0"),
    (["--thresholds-mb", "0,5,10"],
     "--thresholds-mb 0,5,10: must be 1 to 8 amounts of 0 to 1000000 MB, each below the one before"),
    (["--thresholds-mb", "20,0", "--text", "5=还剩{mb}MB"],
     "--text 5=还剩{mb}MB: must be 1 to 600 characters, for a threshold in use, {mb} the only placeholder"),
    (["--text", "10=还剩{gb}GB"],
     "--text 10=还剩{gb}GB: must be 1 to 600 characters, for a threshold in use, {mb} the only placeholder"),
])
def test_plan_set_refuses_what_the_device_would(capsys, argv, line):
    assert _refused(capsys, "plan", "set", *argv) == "edgemeter: " + line


def test_balance_and_sms_words_are_checked_too(capsys):
    assert _refused(capsys, "balance", "--low-yuan", "-1") == "edgemeter: --low-yuan -1: must be between 0 and 1000 yuan"
    assert _refused(capsys, "balance", "--low-yuan", "1000.01") == "edgemeter: --low-yuan 1000.01: must be between 0 and 1000 yuan"
    words = "must be 1 to 8 different words of 1 to 16 characters without blanks, each data or balance"
    assert _refused(capsys, "config", "set", "sms_words", "LL=weather") == "edgemeter: sms_words LL=weather: " + words
    assert _refused(capsys, "config", "set", "sms_words", "ll=data,LL=balance") == "edgemeter: sms_words ll=data,LL=balance: " + words


def test_good_values_go_on_to_the_port(capsys):
    for argv in (["plan", "set", "--quota-mb", "100", "--tz-minutes", "-720", "--cycle-day", "31", "--at-zero", "warn"],
                 ["plan", "set", "--thresholds-mb", "20,10,5,0", "--text", "20=还剩{mb}MB", "--cc", "+8613900000001"],
                 ["balance", "--low-yuan", "1000"], ["config", "set", "sms_words", "CXLL=data,cxye=balance"]):
        assert cli.main(argv + ["--port", NO_PORT]) == 1
        assert capsys.readouterr().err.startswith("edgemeter: cannot open %s" % NO_PORT)
