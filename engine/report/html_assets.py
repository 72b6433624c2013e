"""The HTML page's inline style sheet and script, and the Content-Security-Policy that allows exactly
those two (the page loads nothing from anywhere)."""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root{color-scheme:light;--ink:#101828;--ink2:#475467;--ink3:#667085;--line:#eaecf0;--bg:#f6f7f9;
--card:#fff;--error:#b42318;--error-bg:#fef3f2;--error-bd:#fecdca;--warning:#a15c07;
--warning-bg:#fffaeb;--warning-bd:#fedf89;--info:#175cd3;--info-bg:#eff8ff;--info-bd:#b2ddff;
--step:#067647;--step-bg:#ecfdf3;--step-bd:#abefc6;--event:#344054;--accent:#3538cd}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.5;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent)}
.page{max-width:1120px;margin:0 auto;padding:24px 20px 48px}
.top h1{font-size:26px;line-height:1.2;margin:0 0 4px}
.top .meta{color:var(--ink2);margin:0}
.report{display:flex;flex-direction:column;gap:20px;margin-top:16px}
#summary{order:-2}#input-errors{order:-1}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;
box-shadow:0 1px 2px rgba(16,24,40,.05)}
h2{font-size:20px;line-height:1.3;margin:0}
h3{font-size:13px;letter-spacing:.04em;text-transform:uppercase;color:var(--ink2);margin:18px 0 8px}
.toolbar{display:flex;flex-wrap:wrap;gap:10px 24px;align-items:center;margin-top:14px}
.legend,.filters{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:0;padding:0;
border:0;font-size:13px;color:var(--ink2)}
.filters legend{float:left;margin-right:4px;font-weight:600;color:var(--ink)}
.filters label{display:inline-flex;gap:6px;align-items:center;cursor:pointer}
.filters input{width:16px;height:16px;margin:0;accent-color:var(--accent)}
.legend svg{vertical-align:middle}
.chip{display:inline-block;font-size:12px;font-weight:600;line-height:18px;padding:0 8px;
border-radius:9px;border:1px solid;white-space:nowrap}
.chip-error{color:var(--error);background:var(--error-bg);border-color:var(--error-bd)}
.chip-warning{color:var(--warning);background:var(--warning-bg);border-color:var(--warning-bd)}
.chip-info{color:var(--info);background:var(--info-bg);border-color:var(--info-bd)}
.chip-step{color:var(--step);background:var(--step-bg);border-color:var(--step-bd)}
.chip-muted{color:var(--ink2);background:#f2f4f7;border-color:var(--line)}
.chip-new{color:#6927da;background:#f4f3ff;border-color:#d9d6fe}
.zero{color:var(--ink3)}
table.overview th button{all:inherit;cursor:pointer;display:inline-flex;gap:4px;align-items:center}
table.overview th[aria-sort=ascending] button::after{content:"\\25B2";font-size:9px}
table.overview th[aria-sort=descending] button::after{content:"\\25BC";font-size:9px}
.resolved li{color:var(--ink2);margin:2px 0}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin:14px 0 0}
.stat{border:1px solid var(--line);border-radius:10px;padding:10px 12px}
.stat b{display:block;font-size:24px;line-height:1.2}
.stat span{color:var(--ink2);font-size:13px}
.stat.bad b{color:var(--error)}.stat.step b{color:var(--step)}
.verdict{margin:12px 0 0;font-weight:600}
.verdict.fail{color:var(--error)}.verdict.pass{color:var(--step)}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--ink2);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.table-scroll{overflow-x:auto;margin-top:14px}
.errors li{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;
overflow-wrap:anywhere;margin:4px 0}
.history-head{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;justify-content:space-between}
.history-head .who{min-width:0}
.source,.who-meta{color:var(--ink3);font-size:13px;margin:2px 0 0;overflow-wrap:anywhere}
.asof{margin:6px 0 0;color:var(--ink2);font-size:14px}
.asof strong{color:var(--ink)}
.counts{display:flex;flex-wrap:wrap;gap:6px}
.timeline-scroll{overflow-x:auto;margin:14px -6px 0;padding:0 6px}
svg.timeline{display:block;width:100%;height:auto;font-family:inherit}
svg.timeline text{font-size:13px;fill:var(--ink2)}
svg.timeline .lane-label{font-size:13px;font-weight:600;fill:var(--ink)}
svg.timeline .lane-label.steps{fill:var(--step)}
svg.timeline .lane-line{stroke:var(--line)}
svg.timeline .grid{stroke:#eef0f3}
svg.timeline .axis{stroke:#98a2b3}
svg.timeline .tick-label{font-size:12px;fill:var(--ink2)}
svg.timeline .tz{font-size:11px;fill:var(--ink3)}
svg.timeline .future{fill:#f0f5ff}
svg.timeline .asof-line{stroke:var(--accent);stroke-width:1.5;stroke-dasharray:5 4}
svg.timeline .asof-label{font-size:12px;font-weight:600;fill:var(--accent)}
svg.timeline .event-mark circle,svg.timeline .event-mark rect{fill:var(--event);stroke:#fff;stroke-width:2}
svg.timeline .event-mark.received circle{fill:#fff;stroke:var(--event);stroke-width:2}
svg.timeline .event-mark .span{fill:#98a2b3;stroke:none}
svg.timeline .reply-link{fill:none;stroke:var(--event);stroke-width:1.5;stroke-dasharray:4 3}
svg.timeline .reply-glyph{font-size:12px;fill:var(--event)}
svg.timeline .event-mark .id{font-size:11px;fill:var(--ink3)}
svg.timeline a.event-mark:focus-visible circle{stroke:var(--accent);stroke-width:3}
svg.timeline .badge rect{stroke:#fff;stroke-width:1.5}
svg.timeline .badge text{font-size:11px;font-weight:700;fill:#fff;text-anchor:middle}
svg.timeline .stem{stroke-width:1.5}
svg.timeline .severity-error rect,svg.timeline .severity-error .ring{fill:var(--error)}
svg.timeline .severity-warning rect{fill:var(--warning)}
svg.timeline .severity-info rect{fill:var(--info)}
svg.timeline .severity-error .stem{stroke:var(--error)}
svg.timeline .severity-warning .stem{stroke:var(--warning)}
svg.timeline .severity-info .stem{stroke:var(--info)}
svg.timeline .waived{opacity:.45}
svg.timeline .next-step path{fill:var(--step);stroke:#fff;stroke-width:1.5}
svg.timeline .next-step.overdue path{fill:#fff;stroke:var(--step);stroke-width:2}
svg.timeline .next-step text{font-size:12px;fill:var(--step);font-weight:700}
.columns{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:8px 32px}
.findings ol,.people ul,.event-list{list-style:none;margin:0;padding:0}
.finding{border:1px solid var(--line);border-left-width:4px;border-radius:8px;padding:10px 12px;margin:0 0 8px}
.finding.sev-error{border-left-color:var(--error)}
.finding.sev-warning{border-left-color:var(--warning)}
.finding.sev-info{border-left-color:var(--info)}
.finding.step{border-left-color:var(--step)}
.finding .head{display:flex;flex-wrap:wrap;gap:4px 8px;align-items:center}
.finding .title{font-weight:600}
.finding .message{margin:4px 0 0}
.finding .remedy{margin:4px 0 0}
.finding .where{margin:4px 0 0;color:var(--ink3);font-size:13px}
.finding .due{font-weight:600}
.finding .due.late{color:var(--error)}
.finding .why{margin:4px 0 0;font-size:14px;color:var(--ink2)}
h4.due-group{font-size:13px;margin:10px 0 6px;color:var(--ink2)}
h4.due-overdue{color:var(--error)}
.finding .waiver{margin:6px 0 0;font-size:13px;color:var(--ink2)}
.finding.is-waived{opacity:.8}
.empty{color:var(--step);font-weight:600;margin:14px 0 0}
.people li{padding:6px 0;border-bottom:1px solid var(--line)}
.people li:last-child{border-bottom:0}
.people .role{color:var(--ink2);font-size:13px}
.nowrap{white-space:nowrap}
details.events{margin-top:14px}
details.events>summary{cursor:pointer;font-weight:600;color:var(--ink2)}
.event-list li{display:grid;grid-template-columns:13em minmax(0,1fr);gap:2px 12px;padding:6px 0;
border-bottom:1px solid var(--line)}
.event-list time{color:var(--ink2);font-variant-numeric:tabular-nums;font-size:14px}
.event-list .what{overflow-wrap:anywhere}
.event-list .eid{color:var(--ink3);font-size:12px;font-family:ui-monospace,Menlo,Consolas,monospace}
.event-list blockquote{margin:4px 0 0;padding:6px 10px;background:#f9fafb;border-left:3px solid var(--line);
white-space:pre-wrap;overflow-wrap:anywhere;font-size:14px}
.event-list li:target{background:#f5f8ff}
.filtered{display:none!important}
.scroll-hint{display:none;font-size:12px;color:var(--ink3);margin:6px 0 0}
footer{color:var(--ink3);font-size:13px;margin-top:28px}
@media (max-width:720px){
 .page{padding:16px 12px 36px}
 .top h1{font-size:22px}
 .card{padding:14px 14px;border-radius:10px}
 .columns{grid-template-columns:minmax(0,1fr)}
 svg.timeline{min-width:760px}
 svg.timeline text,svg.timeline .lane-label{font-size:16px}
 svg.timeline .tick-label{font-size:15px}
 svg.timeline .tz{font-size:13px}
 .errors{padding-left:18px}
 svg.timeline .event-mark .id{display:none}
 .event-list li{grid-template-columns:minmax(0,1fr)}
 .stat b{font-size:20px}
 .stats{grid-template-columns:repeat(3,minmax(0,1fr))}
 .scroll-hint{display:block}
}
@media print{.filters{display:none}.timeline-scroll{overflow:visible}svg.timeline{min-width:0}
 .card{box-shadow:none;break-inside:avoid-page}}
"""


SCRIPT = """
(function(){
var boxes=[].slice.call(document.querySelectorAll('input[data-toggle]'));
function apply(){
 var off={};boxes.forEach(function(b){off[b.value]=!b.checked;});
 [].forEach.call(document.querySelectorAll('[data-filter]'),function(el){
  el.classList.toggle('filtered',!!off[el.getAttribute('data-filter')]);});
}
var m=/(?:^#|&)hide=([a-z,-]+)/.exec(location.hash);
if(m){m[1].split(',').forEach(function(v){boxes.forEach(function(b){if(b.value===v)b.checked=false;});});}
boxes.forEach(function(b){b.addEventListener('change',apply);});
var bar=document.getElementById('filters');if(bar)bar.hidden=false;
apply();
// On a narrow screen the timeline scrolls sideways: open it at the audit time ("today"), with the
// past on its left, instead of at the oldest event.
[].forEach.call(document.querySelectorAll('.timeline-scroll'),function(box){
 var svg=box.querySelector('svg.timeline'),line=box.querySelector('.asof-line');
 if(!svg||!line||box.scrollWidth<=box.clientWidth)return;
 var scale=svg.getBoundingClientRect().width/svg.viewBox.baseVal.width;
 box.scrollLeft=Math.max(0,line.x1.baseVal.value*scale-box.clientWidth*2/3);
});
[].forEach.call(document.querySelectorAll('table.overview'),function(table){
 var heads=[].slice.call(table.querySelectorAll('th[data-sort]'));
 heads.forEach(function(th,col){
  var b=document.createElement('button');b.type='button';b.textContent=th.textContent;
  th.textContent='';th.appendChild(b);
  b.addEventListener('click',function(){
   var now=th.getAttribute('aria-sort'),first=th.getAttribute('data-first');
   var order=now?(now==='ascending'?'descending':'ascending'):first;
   heads.forEach(function(h){h.removeAttribute('aria-sort');});
   th.setAttribute('aria-sort',order);
   var text=th.getAttribute('data-sort')==='text',body=table.tBodies[0],rows=[].slice.call(body.rows);
   rows.sort(function(x,y){
    var a=x.cells[col].getAttribute('data-value'),c=y.cells[col].getAttribute('data-value');
    var d=text?a.localeCompare(c):parseFloat(a)-parseFloat(c);
    if(d)return order==='ascending'?d:-d;
    return parseFloat(x.cells[0].getAttribute('data-value'))-parseFloat(y.cells[0].getAttribute('data-value'));});
   rows.forEach(function(r){body.appendChild(r);});
  });
 });
});
})();
"""


# Defence in depth behind the escaping: the page may run only its own script (by hash) and load
# nothing at all, so even a missed escape could neither run code nor reach the network.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    f"script-src 'sha256-{base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'"
)
