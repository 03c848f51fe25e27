// Filters the clients table on the home page as the user types. No dependencies.
(function () {
  "use strict";
  function setup() {
    var input = document.getElementById("client-filter");
    var table = document.getElementById("clients-table");
    if (!input || !table) { return; }
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        var shown = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.style.display = shown ? "" : "none";
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
