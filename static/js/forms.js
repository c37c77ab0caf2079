/* A form sent back with mistakes opens with focus on its error summary, so a screen reader
 * announces what to fix and the keyboard starts there. A file, not an inline script: the
 * Content-Security-Policy runs only our own script files. */
(function () {
  "use strict";
  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrorSummary);
  } else {
    focusErrorSummary();
  }
})();
