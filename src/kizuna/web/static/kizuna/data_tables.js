/* Chart data tables marked data-table-url load the first time someone opens them, so a page
   with many charts does not render every table up front. */
(function () {
  "use strict";
  function load(details) {
    var body = details.querySelector("[data-table-body]");
    if (!body || details.dataset.loaded) { return; }
    details.dataset.loaded = "true";
    fetch(details.dataset.tableUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        body.innerHTML = html;
        details.setAttribute("data-table-loaded", "true");
      })
      .catch(function () { delete details.dataset.loaded; });
  }
  // "toggle" does not bubble: listen while it is captured on the way down.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.open && details.dataset && details.dataset.tableUrl) { load(details); }
  }, true);
})();
