/* Switchboard dashboard: the little behaviour htmx does not give us. No inline script, no eval.
   Live updates pause while the tab is hidden: the live region is swapped for a copy the SSE
   extension does not know (its stream closes at the next message), and that copy is processed
   when the tab is visible again; the new stream starts with the current first page. */
(function () {
  "use strict";
  var parked = null;

  function pause() {
    var region = document.getElementById("live");
    if (!region || parked) { return; }
    parked = region.cloneNode(true);
    region.replaceWith(parked);
    document.body.setAttribute("data-live", "paused");
  }

  function resume() {
    if (!parked) { return; }
    var fresh = parked.cloneNode(true);
    parked.replaceWith(fresh);
    parked = null;
    htmx.process(fresh);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { pause(); } else { resume(); }
  });
  document.addEventListener("htmx:sseOpen", function () {
    document.body.setAttribute("data-live", "on");
  });
})();
