// RISMEP desk: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // A form is sent once: disable its submit buttons after the first submit (no double referrals).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.method && form.method.toLowerCase() === "post") {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    }
  });
  // Coming back with the browser's Back button: the forms may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  });
  // After an error, move keyboard focus to the first message so screen readers announce it.
  document.addEventListener("DOMContentLoaded", function () {
    var alert = document.querySelector("main [role=alert]");
    if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
  });
})();
