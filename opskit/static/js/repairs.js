/* Repair pages: the form's part rows (add a row, remove one; the rows post as repeated
 * part / serial_out / serial_in / quantity fields, in their order) and the report's print
 * button. The drawn signatures are static/js/signature.js.
 */
(function () {
  "use strict";

  function wireParts() {
    var list = document.getElementById("repair-parts");
    var template = document.getElementById("repair-part-template");
    var add = document.getElementById("repair-part-add");
    if (!list || !template || !add) return;

    function wireRow(row) {
      var remove = row.querySelector(".repair-part-remove");
      if (!remove) return;
      remove.hidden = false;
      remove.addEventListener("click", function () {
        row.remove();
        if (!list.querySelector(".repair-part")) addRow();
      });
    }
    function addRow() {
      var row = template.content.firstElementChild.cloneNode(true);
      list.appendChild(row);
      wireRow(row);
      return row;
    }
    list.querySelectorAll(".repair-part").forEach(wireRow);
    add.hidden = false;
    add.addEventListener("click", function () {
      var row = addRow();
      var first = row.querySelector("input");
      if (first) first.focus();
    });
  }

  function wirePrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  wireParts();
  wirePrint();
})();
