"""A tiny test runner for device-side tests, so one file runs under both VMs.

Device tests are plain `test_*` functions with `assert`s (micropython-lib style).
pytest collects them on CPython; on the MicroPython unix port each test file ends
with::

    if __name__ == "__main__":
        import mpunit
        mpunit.main(globals())

which runs every `test_*` function, prints one line per failure and the closing
line "N passed, M failed", and exits non-zero if anything failed. Names given on
the command line (`micropython test_x.py test_one test_two`) run only those.
tests/test_device_suites.py runs a file compiled by mpy-cross, importing it with
`run("test_x")` (micropython_vm.suite_command has the command line).
`refuses` checks that bad input is refused, the same way on both VMs.
"""

import sys


def refuses(check, values, error=ValueError):
    """Assert that `check(value)` raises `error` for every one of `values`."""
    for value in values:
        try:
            check(value)
        except error:
            continue
        raise AssertionError("accepted %r" % (value,))


def run(module):
    """Import the test module named `module` and run its tests as main() does."""
    main(__import__(module).__dict__)


def main(namespace):
    passed = 0
    failed = 0
    names = sorted(k for k in namespace if k.startswith("test_") and callable(namespace[k]))
    if sys.argv[1:]:
        names = [k for k in names if k in sys.argv[1:]]
    for name in names:
        try:
            namespace[name]()
            passed += 1
        except Exception as exc:  # report every failure, keep going
            failed += 1
            print("FAIL", name)
            sys.print_exception(exc) if hasattr(sys, "print_exception") else print(repr(exc))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
