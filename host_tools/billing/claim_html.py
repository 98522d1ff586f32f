"""The billing-error reconciliation report as one self-contained HTML page.

    page = claim_html.render(report)   # report: the dict host_tools.billing.reconcile makes

The page is what a subscriber prints or attaches to a claim (申诉) against the
operator: who and which months, the amounts overcharged and claimed back, a daily
chart of what the device metered against what was billed, each finding with its
evidence, the claim text with its deadlines, and the tolerances and agreement the
reconciliation used. It has to open years later, offline, from an e-mail
attachment, so it loads nothing: CSS and JavaScript are inline and the daily
figures travel inside the page as JSON, from which an inline script draws the
chart into an inline SVG.

Bill rows and SMS texts come from the operator and are untrusted: every string
from the report is escaped with html.escape, the embedded JSON cannot close its
<script> element, and the chart script sets text and attributes, never markup.
Money stays integer fen (分) from report to page; it is shown as yuan (元) by
integer arithmetic, never through a float.
"""

import html
import json

from host_tools.billing.claim import bill_names, shown_line

# The two bar colours, also used by the screenshot test to find the painted chart.
DEVICE_COLOUR = "#2f6db5"
BILLED_COLOUR = "#e0822d"

ACCOUNT_TEXT = {"prepaid": "prepaid 预付费", "postpaid": "postpaid 后付费"}

# Simplified Chinese faces, one per system: Linux (Noto, Source Han, WenQuanYi), macOS
# (PingFang, Hiragino), Windows (Microsoft YaHei, SimHei). Without one, the Chinese of the
# claim shows as empty boxes.
FONT_STACK_CJK = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
                  '"Microsoft YaHei", "SimHei", "WenQuanYi Micro Hei"')

_CSS = """
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, FONT_STACK_CJK, sans-serif;
       color: #222; margin: 0 auto; padding: 16px 24px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 24px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 3px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
.meta dt { color: #555; }
.meta dd { margin: 0; }
.totals { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 14px; }
.total { border: 2px solid #333; border-radius: 6px; padding: 8px 16px; min-width: 220px; }
.total .label { font-size: 13px; color: #444; }
.total .amount { font-size: 28px; font-weight: 700; font-variant-numeric: tabular-nums; }
.counts { align-self: center; color: #333; }
figure { margin: 0; }
#daily-chart { width: 100%; height: auto; display: block; }
#daily-chart .bar.device, #daily-chart .swatch.device { fill: var(--device); }
#daily-chart .bar.billed, #daily-chart .swatch.billed { fill: var(--billed); }
#daily-chart .bar { shape-rendering: crispEdges; }
#daily-chart .grid { stroke: #e2e2e2; }
#daily-chart .axis { stroke: #555; }
#daily-chart text { font-size: 11px; fill: #333; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
td.money, th.money { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.excluded td { color: #777; background: #f7f7f7; }
.explanation { color: #555; font-size: 12px; }
.evidence { font-size: 12px; }
.kv th { width: 30%; font-weight: normal; font-family: monospace; }
pre#claim-text { white-space: pre-wrap; border: 1px solid #ccc; padding: 10px; background: #fafafa;
                 font: 13px/1.5 ui-monospace, "Noto Sans Mono CJK SC", Menlo, Consolas, FONT_STACK_CJK, monospace; }
.deadline { font-weight: 700; }
@page { size: A4; margin: 14mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  tr, .total, figure, pre { break-inside: avoid; }
  thead { display: table-header-group; }
  th { background: none; }
  noscript { display: none; }
}
"""

# Draws the daily bars into #daily-chart from #daily-data. Text and attributes only,
# never innerHTML: the day strings come from the report.
_CHART_JS = """
(function () {
  "use strict";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var BYTES_PER_MB = 1048576;
  var WIDTH = 1000, HEIGHT = 360;
  var LEFT = 60, RIGHT = 10, TOP = 40, BOTTOM = 70;
  var plotWidth = WIDTH - LEFT - RIGHT, plotHeight = HEIGHT - TOP - BOTTOM;
  var days = JSON.parse(document.getElementById("daily-data").textContent);
  var svg = document.getElementById("daily-chart");
  svg.setAttribute("viewBox", "0 0 " + WIDTH + " " + HEIGHT);

  function add(name, attributes, text) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  }
  function megabytes(bytes) { return bytes / BYTES_PER_MB; }
  function tooltip(node, text) {
    node.appendChild(document.createElementNS(SVG_NS, "title")).textContent = text;
  }

  if (days.length === 0) {
    add("text", {x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle"}, "no daily data 无每日数据");
    return;
  }
  var metered = days.filter(function (d) { return d.device_bytes !== null; });
  var highest = Math.max.apply(null, metered.map(function (d) {
    return megabytes(Math.max(d.device_bytes, d.billed_bytes));
  }).concat([1]));
  // Grid step: 1, 2 or 5 times a power of ten, about five lines up the axis.
  var magnitude = Math.pow(10, Math.floor(Math.log10(highest / 5)));
  var step = [1, 2, 5, 10].map(function (m) { return m * magnitude; })
    .filter(function (s) { return s >= highest / 5; })[0];
  var ceiling = Math.ceil(highest / step) * step;
  function y(mb) { return TOP + plotHeight - plotHeight * mb / ceiling; }

  for (var mark = 0; mark <= ceiling + step / 2; mark += step) {
    add("line", {"class": "grid", x1: LEFT, x2: WIDTH - RIGHT, y1: y(mark), y2: y(mark)});
    add("text", {x: LEFT - 6, y: y(mark) + 4, "text-anchor": "end"}, String(+mark.toFixed(3)));
  }
  add("text", {x: 14, y: TOP + plotHeight / 2, "text-anchor": "middle",
               transform: "rotate(-90 14 " + (TOP + plotHeight / 2) + ")"}, "MB per day 每日流量");
  add("text", {x: LEFT + plotWidth / 2, y: HEIGHT - 4, "text-anchor": "middle"}, "day 日期");

  var slot = plotWidth / days.length;
  var barWidth = slot * 0.4;
  var labelEvery = Math.ceil(days.length / 25);
  days.forEach(function (d, i) {
    var x = LEFT + i * slot;
    var billedMb = megabytes(d.billed_bytes);
    if (d.device_bytes === null) {
      var gap = add("rect", {"class": "gap", "data-day": d.day, x: x, y: TOP, width: slot,
                             height: plotHeight, fill: "url(#hatch)"});
      tooltip(gap, d.day + ": not covered by the device, billed " + billedMb.toFixed(1) + " MB");
    } else {
      var deviceMb = megabytes(d.device_bytes);
      var device = add("rect", {"class": "bar device", "data-day": d.day, x: x + slot * 0.1,
                                y: y(deviceMb), width: barWidth, height: y(0) - y(deviceMb)});
      tooltip(device, d.day + ": device metered " + deviceMb.toFixed(1) + " MB");
      var billed = add("rect", {"class": "bar billed", "data-day": d.day, x: x + slot * 0.1 + barWidth,
                                y: y(billedMb), width: barWidth, height: y(0) - y(billedMb)});
      tooltip(billed, d.day + ": billed " + billedMb.toFixed(1) + " MB");
    }
    if (i % labelEvery === 0) {
      var labelX = x + slot / 2, labelY = TOP + plotHeight + 10;
      add("text", {x: labelX, y: labelY, "text-anchor": "end",
                   transform: "rotate(-60 " + labelX + " " + labelY + ")"}, d.day.slice(5));
    }
  });
  add("line", {"class": "axis", x1: LEFT, x2: WIDTH - RIGHT, y1: y(0), y2: y(0)});
  add("line", {"class": "axis", x1: LEFT, x2: LEFT, y1: TOP, y2: y(0)});

  [["swatch device", null, "device metered 设备计量"],
   ["swatch billed", null, "billed 账单计费"],
   ["swatch", "url(#hatch)", "not covered by the device 设备未覆盖"]].forEach(function (entry, i) {
    var legendX = LEFT + i * 220;
    var swatch = add("rect", {"class": entry[0], x: legendX, y: 10, width: 14, height: 14});
    if (entry[1]) swatch.setAttribute("fill", entry[1]);
    add("text", {x: legendX + 20, y: 22}, entry[2]);
  });
})();
"""


def yuan(fen):
    """Integer fen as yuan with two decimals: 1450 -> "14.50", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    return sign + "%d.%02d" % divmod(abs(fen), 100)


def _esc(value):
    return html.escape(str(value))


def _money(fen):
    return "%s 元" % yuan(fen)


def _plain(value):
    """A free-form JSON value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _key_values(mapping):
    rows = "".join("<tr><th>%s</th><td>%s</td></tr>" % (_esc(key), _esc(_plain(value)))
                   for key, value in mapping.items())
    return '<table class="kv"><tbody>%s</tbody></table>' % rows


def _evidence(evidence, names):
    lines = [shown_line(where, names) for where in evidence["bill_lines"]]
    parts = ["bill lines: " + _esc(", ".join(lines))] if lines else []
    if evidence["more_bill_lines"]:
        parts.append("+%d more lines" % evidence["more_bill_lines"])
    if evidence["ledger_seqs"]:
        parts.append("ledger seq " + _esc(", ".join(str(seq) for seq in evidence["ledger_seqs"])))
    return '<div class="evidence">%s</div>' % "<br>".join(parts)


def _finding_row(finding, names):
    excluded = finding["excluded"] is not None
    payment = _esc(finding["payment"]) if finding["payment"] else "—"
    if finding["cash_max_fen"]:
        payment += "<br>cash on request 现金: at most %s" % _money(finding["cash_max_fen"])
    cells = [
        _esc(finding["id"]),
        _esc(finding["month"]),
        '%s<div class="explanation">%s</div>' % (_esc(finding["item"]), _esc(finding["explanation"])),
        _esc(finding["category_text"]),
        _esc(finding["excluded_text"] or finding["excluded"]) if excluded else "—",
    ]
    return '<tr%s>%s<td class="money">%s</td><td class="money">%s</td><td>%s</td><td>%s</td></tr>' % (
        ' class="excluded"' if excluded else "",
        "".join("<td>%s</td>" % cell for cell in cells),
        _money(finding["overcharged_fen"]),
        _money(finding["refund_fen"]),
        payment,
        _evidence(finding["evidence"], names),
    )


def _embedded_json(value):
    # "<" only ever occurs inside JSON strings, where \\u003c means the same; without
    # it a "</script>" in the data would end the element and the rest would be markup.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def render(report):
    """The report as one HTML5 page (a str), loading nothing from anywhere."""
    findings = report["findings"]
    excluded_count = sum(1 for finding in findings if finding["excluded"] is not None)
    claim = report["claim"]
    months = ", ".join(report["months"])
    title = "Billing-error claim 计费差错申诉 — %s, %s" % (report["device"], months)
    names = bill_names(report["bills"])  # file names: never the technician's absolute paths
    finding_rows = "".join(_finding_row(finding, names) for finding in findings) or (
        '<tr><td colspan="9">no findings 未发现差错</td></tr>')
    return """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>:root {{ --device: {device_colour}; --billed: {billed_colour}; }}{css}</style>
</head>
<body>
<header>
<h1>Billing-error reconciliation 计费差错核对</h1>
<dl class="meta">
<dt>Device 设备</dt><dd id="device">{device}</dd>
<dt>Account 账户类型</dt><dd id="account">{account}</dd>
<dt>Months 账期</dt><dd id="months">{months}</dd>
<dt>Bills 账单</dt><dd>{bills}</dd>
<dt>Report date 报告日期</dt><dd id="today">{today}</dd>
</dl>
<div class="totals">
<div class="total"><div class="label">Overcharged 多收金额</div>
<div class="amount" id="total-overcharged">{total_overcharged}</div></div>
<div class="total"><div class="label">Refund claimed 应退金额</div>
<div class="amount" id="total-refund">{total_refund}</div></div>
<div class="counts" id="finding-counts">{finding_count} findings 差错, {excluded_count} excluded 不予退赔
(totals count only findings not excluded)</div>
</div>
</header>

<section>
<h2>Daily usage: device-metered vs billed 每日流量对比</h2>
<figure>
<svg id="daily-chart" xmlns="http://www.w3.org/2000/svg" role="img"
     aria-label="MB per day: device-metered and billed">
<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#f2f2f2"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9a9a9a" stroke-width="2"/>
</pattern></defs>
</svg>
<noscript>The chart is drawn by JavaScript, which is off; the findings below do not need it.</noscript>
</figure>
<script type="application/json" id="daily-data">{daily_json}</script>
<script>{chart_js}</script>
</section>

<section>
<h2>Findings 差错明细</h2>
<table id="findings">
<thead><tr><th>#</th><th>Month 月份</th><th>Item 计费项目</th><th>Category 差错类型</th>
<th>Excluded 不予退赔</th><th class="money">Overcharged 多收</th><th class="money">Refund 应退</th>
<th>Payment 退还方式</th><th>Evidence 证据</th></tr></thead>
<tbody>{finding_rows}</tbody>
<tfoot><tr><th colspan="5">Total, findings not excluded 合计</th>
<td class="money">{total_overcharged}</td><td class="money">{total_refund}</td><td colspan="2"></td></tr></tfoot>
</table>
</section>

<section>
<h2>Claim 申诉</h2>
<dl class="meta">
<dt>Filed 提交时间</dt><dd><time id="claim-filed" datetime="{filed}">{filed}</time></dd>
<dt>First reply due (48 h) 首次答复期限</dt>
<dd class="deadline"><time id="claim-reply-due" datetime="{reply_due}">{reply_due}</time></dd>
</dl>
<pre id="claim-text">{claim_text}</pre>
</section>

<section id="tolerances">
<h2>Tolerances 容差</h2>
{tolerances}
</section>

<section id="agreement">
<h2>Agreement 套餐约定</h2>
{agreement}
</section>
</body>
</html>
""".format(
        title=_esc(title),
        device_colour=DEVICE_COLOUR,
        billed_colour=BILLED_COLOUR,
        css=_CSS.replace("FONT_STACK_CJK", FONT_STACK_CJK),
        device=_esc(report["device"]),
        account=_esc(ACCOUNT_TEXT.get(report["account"], report["account"])),
        months=_esc(months),
        bills=_esc(", ".join(names[path] for path in report["bills"])),
        today=_esc(report["today"]),
        total_overcharged=_money(report["total_overcharged_fen"]),
        total_refund=_money(report["total_refund_fen"]),
        finding_count=len(findings),
        excluded_count=excluded_count,
        daily_json=_embedded_json(report["daily"]),
        chart_js=_CHART_JS,
        finding_rows=finding_rows,
        filed=_esc(claim["filed"]),
        reply_due=_esc(claim["reply_due"]),
        claim_text=_esc(claim["text"]),
        tolerances=_key_values(report["tolerances"]),
        agreement=_key_values(report["agreement"]),
    )
