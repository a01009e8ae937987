// The new-request form: tapping a person seen before (the suggestions htmx shows as the name is
// typed) fills the requester's name, department and phone.
(function () {
  "use strict";

  function set(id, value) {
    var input = document.getElementById(id);
    if (input && value) input.value = value;
  }

  document.addEventListener("click", function (event) {
    var picked = event.target.closest("[data-requester]");
    if (!picked) return;
    set("requester_name", picked.dataset.name);
    set("requester_department", picked.dataset.department);
    set("requester_phone", picked.dataset.phone);
    var box = document.getElementById("requester-suggestions");
    if (box) box.replaceChildren();
  });
})();
