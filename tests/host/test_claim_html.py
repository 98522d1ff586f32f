"""The HTML claim report, opened in real headless Chromium.

The chart is drawn by the page's own JavaScript, so only a browser shows whether
it works: Chromium dumps the DOM after the scripts ran (the bars must be there)
and takes a screenshot (the bars must be painted, in their two colours). Its
Chinese must be drawn in a Chinese face, not empty boxes: the page names a CJK
font stack, and Chromium draws the heading's characters in the page's own font
(Debian's fonts-noto-cjk must be installed: .ci/run and dev.py install it). The
report is built by hand: two months, 40 days of which 3 unmetered, four findings
of which one excluded and carrying a <script> in its bill item.
"""

import datetime
import functools
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from html.parser import HTMLParser

import pytest

from host_tools.billing import claim_html

MB = 1048576
FIRST_DAY = datetime.date(2026, 10, 22)
DAY_COUNT = 40  # 2026-10-22 .. 2026-11-30
UNMETERED = {"2026-11-05", "2026-11-06", "2026-11-07"}  # device switched off
SCRIPT_ITEM = "<script>alert(1)</script>"
CLAIM_TEXT = (
    "致中国移动客服：\n"
    "设备 em-0123abcd 在 2026-10、2026-11 账期的流量计费与设备计量不符，多收 99.50 元，\n"
    "依规应退 199.00 元。请于 48 小时内答复。\n"
    "To the operator: the data billed for 2026-10 and 2026-11 exceeds what the device\n"
    "metered; overcharged 99.50 yuan, refund claimed 199.00 yuan. First reply due within 48 h.\n"
)
REPLY_DUE = "2026-12-22T10:00:00+08:00"


def _daily():
    days = []
    for index in range(DAY_COUNT):
        day = (FIRST_DAY + datetime.timedelta(days=index)).isoformat()
        device_mb = 20 + (index * 7) % 30
        billed_mb = device_mb + (50 if day == "2026-11-12" else index % 3)
        days.append({
            "day": day,
            "device_bytes": None if day in UNMETERED else device_mb * MB,
            "billed_bytes": billed_mb * MB,
        })
    return days


def _finding(number, category, category_text, month, item, overcharged_fen, excluded=None, excluded_text=None,
             bill_lines=(), ledger_seqs=(), more_bill_lines=0):
    return {
        "id": number,
        "category": category,
        "category_text": category_text,
        "excluded": excluded,
        "excluded_text": excluded_text,
        "month": month,
        "item": item,
        "explanation": "billed more than the device metered or the plan allows",
        "overcharged_fen": overcharged_fen,
        "refund_fen": 0 if excluded else 2 * overcharged_fen,
        "payment": "account top-up or recharge card",
        "cash_max_fen": 0 if excluded else overcharged_fen,
        "evidence": {"bill_lines": list(bill_lines), "ledger_seqs": list(ledger_seqs),
                     "more_bill_lines": more_bill_lines},
    }


REPORT = {
    "device": "em-0123abcd",
    "account": "prepaid",
    "today": "2026-12-20",
    "months": ["2026-10", "2026-11"],
    "bills": ["bill-2026-10.csv", "bill-2026-11.csv"],
    "tolerances": {"data_slack_per_day_kb": 64, "data_slack_per_cut_kb": 64,
                   "data_rounding_kb_per_row": 1, "data_relative_ppm": 1000},
    "agreement": {"plan": "30 元 10 GB 月包", "quota_mb": 10240, "roaming": {"included": False}},
    "findings": [
        _finding(1, "metering_error", "Metering error (data volume)", "2026-11", "data 2026-11-12", 1450,
                 bill_lines=["bill-2026-11.csv:12", "bill-2026-11.csv:13"], ledger_seqs=[41, 42]),
        _finding(2, "tariff_not_as_agreed", "Tariff not as agreed", "2026-10", "data over quota 2026-10", 5000,
                 bill_lines=["bill-2026-10.csv:%d" % line for line in range(30, 40)], more_bill_lines=17),
        _finding(3, "discount_not_applied", "Discount not applied", "2026-11", "monthly fee 2026-11", 3500,
                 bill_lines=["bill-2026-11.csv:2"]),
        _finding(4, "never_happened", "Charged for a service that never happened", "2026-11", SCRIPT_ITEM, 800,
                 excluded="interconnect_or_roaming_partner", excluded_text="Roaming partner's charge",
                 bill_lines=["bill-2026-11.csv:77"]),
    ],
    "daily": _daily(),
    "total_overcharged_fen": 1450 + 5000 + 3500,
    "total_refund_fen": 2 * (1450 + 5000 + 3500),
    "claim": {"text": CLAIM_TEXT, "filed": "2026-12-20T10:00:00+08:00", "reply_due": REPLY_DUE},
}
METERED_DAYS = [d["day"] for d in REPORT["daily"] if d["device_bytes"] is not None]


class Dom(HTMLParser):
    """Every element of a page with its attributes and all the text inside it."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, page):
        super().__init__()
        self.elements = []
        self._open = []
        self.feed(page)
        self.close()
        while self._open:
            self._finish()

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": []}
        self.elements.append(element)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_endtag(self, tag):
        if any(element["tag"] == tag for element in self._open):
            while self._finish()["tag"] != tag:
                pass

    def handle_data(self, data):
        for element in self._open:
            element["text"].append(data)

    def _finish(self):
        element = self._open.pop()
        element["text"] = "".join(element["text"])
        return element

    def by_id(self, element_id):
        (element,) = [e for e in self.elements if e["attrs"].get("id") == element_id]
        return element

    def with_class(self, class_attribute):
        return [e for e in self.elements if e["attrs"].get("class") == class_attribute]


CJK_PACKAGE = "fonts-noto-cjk"


def cjk_fonts():
    """The Chinese font families fontconfig knows here; the test fails, saying what to install, if none."""
    families = ""
    if shutil.which("fc-list"):
        families = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True).stdout
    if not families.strip():
        pytest.fail("no Chinese (CJK) font on this machine: the claim's Chinese would render as empty boxes; install "
                    "Debian's %s (apt-get install %s; .ci/run and python3 dev.py test do when run as root)"
                    % (CJK_PACKAGE, CJK_PACKAGE), pytrace=False)
    return families


def chromium():
    path = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    if path is None:
        pytest.fail("chromium not found: install Debian's chromium package (apt-get install chromium)",
                    pytrace=False)
    return path


def run_chromium(page_path, *mode):
    with tempfile.TemporaryDirectory(prefix="claim-html-profile-") as profile:
        command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--user-data-dir=" + profile, *mode, "file://" + page_path]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, "chromium exited %d: %s" % (result.returncode, result.stderr[-2000:])
    return result.stdout


@functools.cache
def _browse_once():
    """(DOM after the scripts ran, screenshot PNG) of REPORT, or why Chromium hung: cached
    either way, so a page that hangs the browser costs one timeout, not one per test."""
    with tempfile.TemporaryDirectory(prefix="claim-html-") as workdir:
        page_path = os.path.join(workdir, "claim.html")
        with open(page_path, "w", encoding="utf-8") as f:
            f.write(claim_html.render(REPORT))
        png_path = os.path.join(workdir, "claim.png")
        try:
            dom = run_chromium(page_path, "--dump-dom")
            run_chromium(page_path, "--screenshot=" + png_path, "--window-size=1200,1600")
        except subprocess.TimeoutExpired as exc:
            return None, "chromium gave no answer in %d s: did a script in the page block it (alert)?" % exc.timeout
        with open(png_path, "rb") as f:
            return (dom, f.read()), None


# Draws each character of the heading's Chinese in the heading's own font on a canvas and
# writes what it drew into #glyph-probe: a fingerprint and the ink of each, and the same of
# a code point no font has (what a missing glyph looks like here).
GLYPH_PROBE = """<pre id="glyph-probe"></pre><script>
(function () {
  var heading = document.querySelector("h1");
  var style = getComputedStyle(heading);
  var chars = Array.from(heading.textContent.replace(/[\\x00-\\x7f]/g, ""));
  var canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  var ctx = canvas.getContext("2d");
  function draw(c) {
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, 64, 64);
    ctx.fillStyle = "#000"; ctx.font = "48px " + style.fontFamily; ctx.textBaseline = "top";
    ctx.fillText(c, 4, 4);
    var data = ctx.getImageData(0, 0, 64, 64).data, ink = 0, print = 0;
    for (var i = 0; i < data.length; i += 4) {
      var dark = 255 - data[i];
      ink += dark > 127 ? 1 : 0;
      print = (print * 31 + dark) % 1000000007;
    }
    return {"char": c, "ink": ink, "print": print};
  }
  document.getElementById("glyph-probe").textContent = JSON.stringify({
    "font_family": style.fontFamily, "glyphs": chars.map(draw), "missing": draw("\\u0378")});
})();
</script>"""


@functools.cache
def _glyphs_once():
    with tempfile.TemporaryDirectory(prefix="claim-html-glyphs-") as workdir:
        page_path = os.path.join(workdir, "claim.html")
        with open(page_path, "w", encoding="utf-8") as f:
            f.write(claim_html.render(REPORT).replace("</body>", GLYPH_PROBE + "</body>"))
        return run_chromium(page_path, "--dump-dom")


def browsed():
    """Chromium's view of REPORT, once for all tests: (DOM after the scripts ran, screenshot PNG)."""
    view, hung = _browse_once()
    if hung:
        pytest.fail(hung, pytrace=False)
    return view


def decode_png(data):
    """(width, height, rows of RGB tuples) of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, compressed = 8, []
    while True:
        (length,), kind = struct.unpack(">I", data[position:position + 4]), data[position + 4:position + 8]
        chunk = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type, _compression, _filter, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and colour_type in (2, 6) and interlace == 0, "unsupported PNG layout"
        elif kind == b"IDAT":
            compressed.append(chunk)
        elif kind == b"IEND":
            break
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(b"".join(compressed))
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        filter_type = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if filter_type == 1:  # Sub
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif filter_type == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        elif filter_type == 3:  # Average
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif filter_type == 4:  # Paeth
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        else:
            assert filter_type == 0, "bad PNG filter type %d" % filter_type
        rows.append(list(zip(line[0::channels], line[1::channels], line[2::channels])))
        previous = line
    return width, height, rows


def rgb(hex_colour):
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_yuan_formatting():
    assert claim_html.yuan(0) == "0.00"
    assert claim_html.yuan(5) == "0.05"
    assert claim_html.yuan(1450) == "14.50"
    assert claim_html.yuan(100) == "1.00"
    assert claim_html.yuan(-5) == "-0.05"
    assert claim_html.yuan(-150) == "-1.50"
    assert claim_html.yuan(-100) == "-1.00"
    assert claim_html.yuan(123456789012) == "1234567890.12"


def test_page_is_self_contained_and_embeds_data_safely():
    day = "2026-11-01</script><script>alert(2)</script>"
    report = dict(REPORT, daily=[{"day": day, "device_bytes": MB, "billed_bytes": 2 * MB}])
    page = claim_html.render(report)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    for loader in ("src=", "href=", "@import"):
        assert loader not in page, loader
    assert page.count("http") == page.count("http://www.w3.org/2000/svg")  # the namespace is no address
    dom = Dom(page)
    assert "</" not in dom.by_id("daily-data")["text"]
    assert json.loads(dom.by_id("daily-data")["text"]) == report["daily"]
    assert [e["attrs"].get("id") for e in dom.elements if e["tag"] == "script"] == ["daily-data", None]
    tolerances = dom.by_id("tolerances")["text"]
    for key, value in REPORT["tolerances"].items():
        assert key in tolerances and str(value) in tolerances
    agreement = dom.by_id("agreement")["text"]
    assert "30 元 10 GB 月包" in agreement and '{"included": false}' in agreement


def test_chart_totals_and_claim_in_the_dom_after_scripts_ran():
    dom = Dom(browsed()[0])
    for side in ("device", "billed"):
        assert [bar["attrs"]["data-day"] for bar in dom.with_class("bar " + side)] == METERED_DAYS
    assert len(METERED_DAYS) == DAY_COUNT - len(UNMETERED)
    assert sorted(gap["attrs"]["data-day"] for gap in dom.with_class("gap")) == sorted(UNMETERED)
    assert dom.by_id("total-overcharged")["text"] == "99.50 元"
    assert dom.by_id("total-refund")["text"] == "199.00 元"
    assert "4 findings" in dom.by_id("finding-counts")["text"]
    assert "1 excluded" in dom.by_id("finding-counts")["text"]
    assert dom.by_id("claim-text")["text"] == CLAIM_TEXT
    assert dom.by_id("claim-reply-due")["text"] == REPLY_DUE
    findings = dom.by_id("findings")["text"]
    assert "+17 more lines" in findings and "ledger seq 41, 42" in findings
    assert "Roaming partner's charge" in findings


def test_chart_is_painted_in_both_bar_colours():
    width, height, rows = decode_png(browsed()[1])
    assert (width, height) == (1200, 1600)
    wanted = {rgb(claim_html.DEVICE_COLOUR): 0, rgb(claim_html.BILLED_COLOUR): 0}
    for row in rows:
        for pixel in row:
            if pixel in wanted:
                wanted[pixel] += 1
    # Each legend swatch is about 16 x 16 pixels; 37 bars of each colour are thousands.
    for colour, count in wanted.items():
        assert count > 3000, "only %d pixels of %s: the bars are not painted" % (count, colour)


def test_script_in_a_bill_item_is_shown_as_text_not_run():
    dom = Dom(browsed()[0])
    assert any(e["tag"] == "td" and e["text"].startswith(SCRIPT_ITEM) for e in dom.elements)
    assert not [e for e in dom.elements if e["tag"] == "script" and "alert(1)" in e["text"]]


def _font_families(page):
    import re

    body = re.search(r"body \{ font: [^;]*?/[0-9.]+ ([^;]+);", page).group(1)
    return [name.strip().strip('"') for name in body.split(",")]


def test_page_names_a_cjk_font_stack():
    families = _font_families(claim_html.render(REPORT))
    for face in ("Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei"):
        assert face in families, families
    assert families[-1] == "sans-serif"


def test_the_chinese_is_drawn_in_a_chinese_face_not_empty_boxes():
    cjk_fonts()
    probe = json.loads(Dom(_glyphs_once()).by_id("glyph-probe")["text"])
    glyphs, missing = probe["glyphs"], probe["missing"]
    assert "".join(g["char"] for g in glyphs) == "计费差错核对"
    for glyph in glyphs:
        assert glyph["ink"] > 100, "%s drew %d dark pixels: no Chinese face in %s" % (glyph["char"], glyph["ink"], probe["font_family"])
        assert glyph["print"] != missing["print"], "%s is drawn as a missing glyph (a box)" % glyph["char"]
    assert len({g["print"] for g in glyphs}) == len(glyphs), "the characters all look alike: boxes, not glyphs"


def test_the_page_shows_bill_file_names_never_the_technicians_paths():
    folder = "/home/technician/jobs/zhang-san"
    finding = dict(REPORT["findings"][0], evidence=dict(REPORT["findings"][0]["evidence"],
                                                        bill_lines=[folder + "/bill-2026-11.csv:12"]))
    report = dict(REPORT, bills=[folder + "/bill-2026-10.csv", folder + "/bill-2026-11.csv"], findings=[finding])
    page = claim_html.render(report)
    assert "/home/" not in page
    assert "bill-2026-10.csv, bill-2026-11.csv" in page and "bill lines: bill-2026-11.csv:12" in page
