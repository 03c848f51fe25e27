// A client's page at work. Boxes that keep their ticks: every check, and one "Step N done"
// at the end of each step, as the handout's sign-off lines; ticking an item's words ticks it
// too. Fields for what the handout gives lines to write on (the old MX, the time of the
// switch), kept as typed. A list to go to any step, as the phone hides the table of contents.
// Search results from this page first. A hint when the drawing is wider than the screen.
// Ticks and fields are saved per client in this browser's localStorage, ticks with a control
// to clear them; nothing leaves the browser; paper copies print empty boxes (runbook.css).
(function () {
  "use strict";
  var PREFIX = "runbook-progress:";
  var WRITTEN = "runbook-written:";
  var STEP = /^step-(\d+)$/;

  function stepOf(element) {
    // the top-level block holding the checkbox, then back to the step heading above it
    var block = element;
    while (block.parentElement && !block.parentElement.classList.contains("md-typeset")) {
      block = block.parentElement;
    }
    for (var el = block; el; el = el.previousElementSibling) {
      if (el.tagName === "H3" && STEP.test(el.id)) { return el.id; }
      if (el.tagName === "H2" || el.tagName === "H1") { return "page"; }
    }
    return "page";
  }

  function headingText(heading) {
    // the heading's words without its permalink
    var copy = heading.cloneNode(true);
    Array.prototype.forEach.call(copy.querySelectorAll(".headerlink"), function (link) {
      link.remove();
    });
    return copy.textContent.replace(/\s+/g, " ").trim();
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

  function dressBoxes() {
    // the theme's large drawn box around each list's checkbox: the pages carry the bare
    // input (3 KB less a client page), and it is dressed here as the theme's own markup
    var boxes = document.querySelectorAll(".md-typeset .task-list-item > input[type=checkbox]");
    Array.prototype.forEach.call(boxes, function (box) {
      var label = document.createElement("label");
      label.className = "task-list-control";
      var indicator = document.createElement("span");
      indicator.className = "task-list-indicator";
      box.parentNode.insertBefore(label, box);
      label.appendChild(box);
      label.appendChild(indicator);
    });
  }

  function addStepBoxes(content) {
    // "Step N done" before the heading that ends each step (the next h2 or h3)
    var steps = content.querySelectorAll(":scope > h3[id^='step-']");
    Array.prototype.forEach.call(steps, function (heading) {
      var match = STEP.exec(heading.id);
      if (!match) { return; }
      var end = heading.nextElementSibling;
      while (end && end.tagName !== "H2" && end.tagName !== "H3") {
        end = end.nextElementSibling;
      }
      var line = document.createElement("p");
      line.className = "runbook-step-done";
      line.setAttribute("data-search-exclude", "");
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.setAttribute("data-step-done", heading.id);
      label.appendChild(box);
      label.appendChild(document.createTextNode(" Step " + match[1] + " done"));
      line.appendChild(label);
      content.insertBefore(line, end);
    });
  }

  function addJumpList(content) {
    // every section and step, in page order, after the page's title
    var title = content.querySelector(":scope > h1");
    var headings = content.querySelectorAll(":scope > h2[id], :scope > h3[id^='step-']");
    if (!title || !headings.length) { return; }
    var nav = document.createElement("nav");
    nav.className = "runbook-jump";
    nav.setAttribute("aria-label", "Steps of this page");
    nav.setAttribute("data-search-exclude", "");
    var label = document.createElement("label");
    label.textContent = "Go to ";
    var list = document.createElement("select");
    var first = document.createElement("option");
    first.value = "";
    first.textContent = "a step or section\u2026";
    list.appendChild(first);
    Array.prototype.forEach.call(headings, function (heading) {
      var option = document.createElement("option");
      option.value = heading.id;
      option.textContent = headingText(heading);
      list.appendChild(option);
    });
    list.addEventListener("change", function () {
      var id = list.value;
      list.value = "";  // the same step can be chosen again
      if (id) { window.location.hash = id; }
    });
    label.appendChild(list);
    nav.appendChild(label);
    title.insertAdjacentElement("afterend", nav);
  }

  function addFields(content, client) {
    // each label of a step's "To write down" line becomes a field that keeps what is typed
    var key = WRITTEN + client;
    var written = load(key);
    Array.prototype.forEach.call(content.querySelectorAll("p.runbook-blanks"), function (line) {
      var step = stepOf(line);
      var fields = document.createElement("div");
      fields.className = "runbook-fields";
      var title = line.querySelector("strong");
      if (title) {
        var head = document.createElement("p");
        head.appendChild(title.cloneNode(true));
        fields.appendChild(head);
      }
      Array.prototype.forEach.call(line.querySelectorAll("span"), function (span) {
        var text = span.textContent;
        var id = step + "|" + text;
        var label = document.createElement("label");
        var long = span.classList.contains("long");
        var field = document.createElement(long ? "textarea" : "input");
        if (!long) { field.type = "text"; } else { field.rows = 3; }
        field.autocomplete = "off";
        field.spellcheck = false;
        field.value = typeof written[id] === "string" ? written[id] : "";
        field.setAttribute("data-written", id);
        field.addEventListener("input", function () {
          if (field.value) { written[id] = field.value; } else { delete written[id]; }
          store(key, written);
        });
        var name = document.createElement("span");
        name.textContent = text;
        label.appendChild(name);
        label.appendChild(field);
        fields.appendChild(label);
      });
      line.replaceWith(fields);
    });
  }

  function preferThisPage() {
    // search results from this client's page first: every client has a "Set ValidPorts", and
    // a result from another client's page carries that client's values
    var list = document.querySelector(".md-search-result__list");
    if (!list || !window.MutationObserver) { return; }
    var here = window.location.pathname.replace(/index\.html$/, "");
    function ours(item) {
      var link = item.querySelector("a[href]");
      if (!link) { return false; }
      return new URL(link.getAttribute("href"), window.location.href).pathname
        .replace(/index\.html$/, "") === here;
    }
    new MutationObserver(function () {
      var items = Array.prototype.slice.call(list.children);
      var mine = items.filter(ours);
      if (!mine.length || items.indexOf(mine[0]) === 0) { return; }
      // moved in their own order to the top; the move is a change too, seen as done above
      mine.reverse().forEach(function (item) { list.insertBefore(item, list.firstChild); });
    }).observe(list, { childList: true });
  }

  function hintWideDrawing() {
    var frame = document.querySelector(".topology-scroll");
    var caption = document.querySelector("figure.topology-figure figcaption");
    if (!frame || !caption || frame.scrollWidth <= frame.clientWidth + 1) { return; }
    var hint = document.createElement("span");
    hint.className = "topology-hint";
    hint.textContent = " Swipe the drawing sideways to see all of it.";
    caption.appendChild(hint);
  }

  function setup() {
    dressBoxes();
    var bar = document.querySelector(".runbook-progress[data-client]");
    if (!bar) { return; }
    var content = bar.closest(".md-typeset") || bar.parentElement;
    hintWideDrawing();
    preferThisPage();
    addJumpList(content);
    addStepBoxes(content);
    addFields(content, bar.getAttribute("data-client"));
    var key = PREFIX + bar.getAttribute("data-client");
    var saved = load(key);
    var seen = {};
    var checks = [];
    var done = [];

    function keep(box, id, list) {
      box.disabled = false;
      box.checked = saved[id] === true;
      box.setAttribute("data-progress", id);
      box.addEventListener("change", function () {
        if (box.checked) { saved[id] = true; } else { delete saved[id]; }
        store(key, saved);
        count();
      });
      list.push(box);
    }

    var inputs = content.querySelectorAll(".task-list-item input[type=checkbox]");
    Array.prototype.forEach.call(inputs, function (box) {
      var item = box.closest("li");
      var id = stepOf(box) + "|" + item.textContent.replace(/\s+/g, " ").trim();
      seen[id] = (seen[id] || 0) + 1;
      if (seen[id] > 1) { id += "|" + seen[id]; }
      box.setAttribute("aria-label", "Done: " + item.textContent.trim());
      keep(box, id, checks);
      // a thumb on the item's words ticks it; links, values and buttons keep their own use
      item.classList.add("runbook-tappable");
      item.addEventListener("click", function (event) {
        if (event.target.closest("a, button, input, label, code, pre, select")) { return; }
        if (window.getSelection && String(window.getSelection())) { return; }
        box.click();
      });
    });
    Array.prototype.forEach.call(content.querySelectorAll("input[data-step-done]"), function (box) {
      keep(box, box.getAttribute("data-step-done") + "|step done", done);
    });
    if (!checks.length && !done.length) { return; }

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
      checks.concat(done).forEach(function (box) { box.checked = false; });
      count();
    });
    var note = document.createElement("span");
    note.className = "runbook-progress__note";
    note.textContent = "Ticks and what you write down are kept in this browser only.";
    bar.appendChild(status);
    bar.appendChild(clear);
    bar.appendChild(note);
    bar.hidden = false;

    function ticked(list) {
      return list.filter(function (box) { return box.checked; }).length;
    }

    function count() {
      status.textContent = ticked(checks) + " of " + checks.length + " checks ticked, " +
        ticked(done) + " of " + done.length + " steps done.";
    }
    count();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
