/* Switchboard dashboard: the little behaviour htmx does not give us. No inline script, no eval.
   Live updates pause while the tab is hidden: the live region's stream is closed at once (the SSE
   extension closes its EventSource when htmx cleans the element up) and the region is swapped
   for a copy without `sse-connect`, so nothing reconnects it; when the tab is visible again the
   attribute comes back and htmx opens a new stream, which starts with the current first page.
   A page opened in a hidden tab starts paused. */
(function () {
  "use strict";

  function region() {
    return document.getElementById("live");
  }

  function pause() {
    var live = region();
    if (!live || !live.hasAttribute("sse-connect")) { return; }
    var parked = live.cloneNode(true);
    parked.setAttribute("data-sse-connect", live.getAttribute("sse-connect"));
    parked.removeAttribute("sse-connect");
    htmx.trigger(live, "htmx:beforeCleanupElement");
    live.replaceWith(parked);
    document.body.setAttribute("data-live", "paused");
  }

  function resume() {
    var parked = region();
    if (!parked || !parked.hasAttribute("data-sse-connect")) { return; }
    var fresh = parked.cloneNode(true);
    fresh.setAttribute("sse-connect", parked.getAttribute("data-sse-connect"));
    fresh.removeAttribute("data-sse-connect");
    parked.replaceWith(fresh);
    document.body.setAttribute("data-live", "resuming");
    htmx.process(fresh);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { pause(); } else { resume(); }
  });
  document.addEventListener("htmx:sseOpen", function () {
    document.body.setAttribute("data-live", "on");
  });
  /* Deferred scripts run before htmx processes the page: a hidden tab never connects. */
  if (document.hidden) { pause(); }
})();
