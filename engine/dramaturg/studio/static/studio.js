// Dramaturg studio: the little htmx does not do. No inline script, no eval (the page's CSP).
"use strict";
// a page that fell behind its event stream reads the run afresh
document.addEventListener("htmx:sseBeforeMessage", function (e) {
  if (e.detail && e.detail.type === "reload") {
    e.preventDefault();
    window.location.reload();
  }
});
// a new streamed text scrolls into view inside its box, not the whole page
document.addEventListener("htmx:oobAfterSwap", function (e) {
  var target = e.detail && e.detail.target;
  if (target && target.classList && target.classList.contains("stream")) {
    target.scrollTop = target.scrollHeight;
  }
});
