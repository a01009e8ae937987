// Reports page: while the workbook is being built (a quarter's pack takes some seconds) the
// button says so and cannot be pressed twice; a download does not leave the page, so the
// server answers with a cookie carrying the token the form sent, and its arrival ends the wait.
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) return;
  var button = document.getElementById("report-download");
  var token = document.getElementById("report-token");
  var status = document.getElementById("report-status");
  var label = button.textContent;
  var timer = null;

  function cookie() {
    var match = document.cookie.match(/(?:^|;\s*)opskit_report=([A-Za-z0-9]+)/);
    return match ? match[1] : "";
  }

  function done(message) {
    if (timer) clearInterval(timer);
    timer = null;
    button.disabled = false;
    button.textContent = label;
    button.removeAttribute("aria-busy");
    status.textContent = message || "";
    status.hidden = !message;
  }

  form.addEventListener("submit", function () {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    token.value = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    // disabled after this turn: the form is submitted first, with the token in it
    setTimeout(function () {
      button.disabled = true;
      button.textContent = button.dataset.building;
      button.setAttribute("aria-busy", "true");
      status.hidden = true;
    }, 0);
    var started = Date.now();
    if (timer) clearInterval(timer);
    timer = setInterval(function () {
      if (cookie() === token.value) {
        document.cookie = "opskit_report=; Max-Age=0; path=" + form.dataset.cookiePath + "; SameSite=Strict";
        done(status.dataset.done);
      } else if (Date.now() - started > 5 * 60 * 1000) {
        done(""); // no answer in five minutes: let the engineer try again
      }
    }, 300);
  });
  // the usual periods: one tap fills the period (typing 2026Q3 on a tablet is slow)
  var period = document.getElementById("period");
  var quickPicks = document.getElementById("report-quick");
  if (quickPicks) quickPicks.hidden = false; // they need this script
  document.querySelectorAll("#report-quick [data-period]").forEach(function (quick) {
    quick.addEventListener("click", function () {
      period.value = quick.dataset.period;
      period.classList.remove("is-invalid");
    });
  });
  // back to this page from the browser's history: ready again
  window.addEventListener("pageshow", function () { done(""); });
})();
