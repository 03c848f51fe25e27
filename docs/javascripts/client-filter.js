// Filters the clients table on the home page as the user types, and says how many match.
// No dependencies.
(function () {
  "use strict";
  function setup() {
    var input = document.getElementById("client-filter");
    var table = document.getElementById("clients-table");
    var status = document.getElementById("client-filter-status");
    if (!input || !table || !status) { return; }
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var none = document.getElementById("client-filter-none");
    function plural(n) { return n + " client" + (n === 1 ? "" : "s"); }
    function update() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var text = row.textContent.toLowerCase();
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !match;
        row.style.display = match ? "" : "none";
        if (match) { shown += 1; }
      });
      if (!words.length) {
        status.textContent = plural(rows.length) + ".";
      } else if (shown) {
        status.textContent = shown + " of " + plural(rows.length) + " match \u201c" +
          input.value.trim() + "\u201d.";
      } else {
        status.textContent = "No client matches \u201c" + input.value.trim() + "\u201d.";
      }
      if (none) { none.hidden = shown !== 0; }
    }
    input.addEventListener("input", update);
    update();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
