// Keeps the figures current: polls /v1/summary and, when new events have been applied, swaps in a
// fresh server rendering of the figures. Without JavaScript the page shows the same figures.
(function () {
  "use strict";
  var live = document.getElementById("live-figures");
  if (!live || !window.fetch || !window.DOMParser) return;
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 10;
  var seen = null;

  function refresh() {
    fetch("/v1/summary", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (summary) {
        if (!summary) return;
        var stamp = summary.events + "|" + summary.last_received_at;
        if (seen === null) { seen = stamp; return; }
        if (stamp === seen) return;
        seen = stamp;
        return fetch(window.location.pathname + window.location.search)
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (!html) return;
            var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-figures");
            var current = document.getElementById("live-figures");
            if (fresh && current) current.replaceWith(document.importNode(fresh, true));
          });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }
  refresh();
})();
