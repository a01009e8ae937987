// Runbook form: show only the target of the scope chosen (asset kind, system or asset).
// Without script every target shows, each saying what it is for; the server ignores the others.
(function () {
  "use strict";
  var form = document.getElementById("runbook-form");
  if (!form) return;
  var choices = form.querySelectorAll("[data-scope-choice]");
  var targets = form.querySelectorAll("[data-scope-target]");

  function show() {
    var chosen = "";
    choices.forEach(function (c) { if (c.checked) chosen = c.value; });
    targets.forEach(function (t) {
      t.hidden = chosen !== "" && t.getAttribute("data-scope-target") !== chosen;
    });
  }

  choices.forEach(function (c) { c.addEventListener("change", show); });
  show();
})();
