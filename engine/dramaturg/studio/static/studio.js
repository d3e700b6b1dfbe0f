// Dramaturg studio: the little htmx does not do. No inline script, no eval (the page's CSP).
"use strict";
// a page that fell behind its event stream reads the run afresh
document.addEventListener("htmx:sseBeforeMessage", function (e) {
  var type = e.detail && e.detail.type;
  if (type === "reload") {
    e.preventDefault();
    window.location.reload();
  } else if (type === "jobdone") {
    // a job ended: the step shown is read again, unless the writer is editing it
    e.preventDefault();
    var panel = document.getElementById("step-panel");
    var editor = document.getElementById("editor-text");
    var editing = editor && editor.value !== editor.defaultValue;
    if (panel && panel.dataset.url && !editing) {
      htmx.ajax("GET", panel.dataset.url, { target: "#panel", swap: "innerHTML" });
    }
  }
});
// a new streamed text scrolls into view inside its box, not the whole page
document.addEventListener("htmx:oobAfterSwap", function (e) {
  var target = e.detail && e.detail.target;
  if (target && target.classList && target.classList.contains("stream")) {
    target.scrollTop = target.scrollHeight;
  }
});
