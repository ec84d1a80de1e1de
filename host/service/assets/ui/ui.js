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

  /* A copy of the live region with its attribute `from` renamed `to`, or null when the region
     has no `from` (absent, already paused, or already live). */
  function renamed(live, from, to) {
    if (!live || !live.hasAttribute(from)) { return null; }
    var copy = live.cloneNode(true);
    copy.setAttribute(to, live.getAttribute(from));
    copy.removeAttribute(from);
    return copy;
  }

  function pause() {
    var live = region();
    var parked = renamed(live, "sse-connect", "data-sse-connect");
    if (!parked) { return; }
    htmx.trigger(live, "htmx:beforeCleanupElement");
    live.replaceWith(parked);
    document.body.setAttribute("data-live", "paused");
  }

  function resume() {
    var parked = region();
    var fresh = renamed(parked, "data-sse-connect", "sse-connect");
    if (!fresh) { return; }
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
