// Step checkboxes that keep their ticks: real inputs, saved per client and step in this
// browser's localStorage, with a control to clear them. Nothing leaves the browser; paper
// copies print empty boxes (runbook.css).
(function () {
  "use strict";
  var PREFIX = "runbook-progress:";

  function stepOf(element) {
    // the top-level block holding the checkbox, then back to the step heading above it
    var block = element;
    while (block.parentElement && !block.parentElement.classList.contains("md-typeset")) {
      block = block.parentElement;
    }
    for (var el = block; el; el = el.previousElementSibling) {
      if (el.tagName === "H3" && /^step-\d+$/.test(el.id)) { return el.id; }
      if (el.tagName === "H2" || el.tagName === "H1") { return "page"; }
    }
    return "page";
  }

  function load(key) {
    try {
      var saved = JSON.parse(window.localStorage.getItem(key) || "{}");
      return saved && typeof saved === "object" ? saved : {};
    } catch (error) {
      return {};
    }
  }

  function store(key, saved) {
    try {
      window.localStorage.setItem(key, JSON.stringify(saved));
    } catch (error) {
      // storage full or disabled: the ticks still work until the page is left
    }
  }

  function setup() {
    var bar = document.querySelector(".runbook-progress[data-client]");
    if (!bar) { return; }
    var key = PREFIX + bar.getAttribute("data-client");
    var saved = load(key);
    var seen = {};
    var boxes = [];
    var inputs = document.querySelectorAll(".md-typeset .task-list-item input[type=checkbox]");
    Array.prototype.forEach.call(inputs, function (box) {
      var item = box.closest("li");
      var id = stepOf(box) + "|" + item.textContent.replace(/\s+/g, " ").trim();
      seen[id] = (seen[id] || 0) + 1;
      if (seen[id] > 1) { id += "|" + seen[id]; }
      box.disabled = false;
      box.checked = saved[id] === true;
      box.setAttribute("data-progress", id);
      box.setAttribute("aria-label", "Done: " + item.textContent.trim());
      box.addEventListener("change", function () {
        if (box.checked) { saved[id] = true; } else { delete saved[id]; }
        store(key, saved);
        count();
      });
      boxes.push(box);
    });
    if (!boxes.length) { return; }

    var status = document.createElement("span");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var clear = document.createElement("button");
    clear.type = "button";
    clear.className = "md-button runbook-progress__clear";
    clear.textContent = "Clear my ticks";
    clear.addEventListener("click", function () {
      if (!window.confirm("Clear every tick on this client's page?")) { return; }
      saved = {};
      window.localStorage.removeItem(key);
      boxes.forEach(function (box) { box.checked = false; });
      count();
    });
    var note = document.createElement("span");
    note.className = "runbook-progress__note";
    note.textContent = "Ticks are kept in this browser only.";
    bar.appendChild(status);
    bar.appendChild(clear);
    bar.appendChild(note);
    bar.hidden = false;

    function count() {
      var done = boxes.filter(function (box) { return box.checked; }).length;
      status.textContent = done + " of " + boxes.length + " checks ticked.";
    }
    count();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
