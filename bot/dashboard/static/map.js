// The map of the listed reports (Leaflet, shipped in static/vendor/leaflet). The coordinates
// come from the list's own items (data-lat, data-lon, data-label): no inline script, and the
// list stays whole without it. OpenStreetMap tiles are loaded at run time; when they cannot
// be, the markers are still placed on an empty map.
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("map");
    if (!box || typeof L === "undefined") return;
    var items = document.querySelectorAll(".report[data-lat][data-lon]");
    if (!items.length) return;
    box.hidden = false;  // shown only with the script (without it the list alone is the page)
    var map = L.map(box, { scrollWheelZoom: false });
    L.tileLayer(box.getAttribute("data-tiles"), {
      maxZoom: 19, attribution: box.getAttribute("data-attribution")
    }).addTo(map);
    var points = [];
    items.forEach(function (item) {
      var lat = parseFloat(item.getAttribute("data-lat"));
      var lon = parseFloat(item.getAttribute("data-lon"));
      if (!isFinite(lat) || !isFinite(lon)) return;
      var link = document.createElement("a");  // text, never HTML: the label is the list's own
      link.href = "#" + item.id;
      link.textContent = item.getAttribute("data-label") || item.id;
      var marker = L.marker([lat, lon], { title: link.textContent, alt: link.textContent, keyboard: true });
      marker.bindPopup(link).addTo(map);
      points.push([lat, lon]);
    });
    if (points.length === 1) map.setView(points[0], 16);
    else map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
    box.classList.add("map-ready");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
