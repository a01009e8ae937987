// The new-request form: tapping a person seen before (the suggestions htmx shows as the name is
// typed) fills the requester's name, department and phone; the photos chosen are counted.
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

  var photos = document.getElementById("photos");
  var chosen = document.getElementById("photos-chosen");
  if (photos && chosen) {
    photos.addEventListener("change", function () {
      var n = photos.files ? photos.files.length : 0;
      chosen.textContent = n ? chosen.dataset.msg.replace("{n}", String(n)) : "";
    });
  }
})();
