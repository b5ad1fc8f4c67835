// Charts drawn in the browser from the figures the page already shows: every
// <figure class="chart"> holds a <table> whose rows are <th>label</th><td data-value="n">shown</td>;
// a horizontal bar chart (SVG) is drawn above it. The table stays (screen readers, printing, and
// a browser without scripts read the same figures); the drawing is aria-hidden.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    return node;
  }
  function draw(figure) {
    var rows = Array.prototype.slice.call(figure.querySelectorAll("tbody tr"));
    var data = rows.map(function (row) {
      var cell = row.querySelector("td[data-value]");
      var head = row.querySelector("th");
      return { label: head ? head.textContent.trim() : "", value: cell ? Number(cell.getAttribute("data-value")) || 0 : 0,
               shown: cell ? cell.textContent.trim() : "" };
    });
    if (!data.length) return;
    var max = Math.max.apply(null, data.map(function (d) { return d.value; })) || 1;
    var bar = 22, gap = 8, width = 600, labelWidth = 200, height = data.length * (bar + gap);
    // room for the longest value shown beside its bar ("100% · 6/6"), about 8 px a character
    var valueWidth = 12 + 8 * Math.max.apply(null, data.map(function (d) { return d.shown.length; }));
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", role: "img", "aria-hidden": "true",
                          "class": "chart-drawing" });
    data.forEach(function (d, i) {
      var y = i * (bar + gap);
      var label = el("text", { x: 0, y: y + bar * 0.72, "class": "chart-label" });
      label.textContent = d.label.length > 28 ? d.label.slice(0, 27) + "…" : d.label;
      var w = Math.max(2, (width - labelWidth - valueWidth) * d.value / max);
      var rect = el("rect", { x: labelWidth, y: y, width: w, height: bar, rx: 3, "class": "chart-bar" });
      var value = el("text", { x: labelWidth + w + 6, y: y + bar * 0.72, "class": "chart-value" });
      value.textContent = d.shown;
      svg.appendChild(label); svg.appendChild(rect); svg.appendChild(value);
    });
    figure.insertBefore(svg, figure.firstChild);
    figure.setAttribute("data-drawn", String(data.length));
  }
  function all() { Array.prototype.forEach.call(document.querySelectorAll("figure.chart"), draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();
