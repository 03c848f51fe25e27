// Adds the age of saved check results ("3 days ago") next to their date. The page itself
// stays the same for the same files; only the reader's clock decides the age.
(function () {
  "use strict";
  function age(then) {
    var minutes = Math.round((Date.now() - then.getTime()) / 60000);
    if (minutes < 1) { return "just now"; }
    if (minutes < 60) { return minutes + " min ago"; }
    var hours = Math.round(minutes / 60);
    if (hours < 48) { return hours + " h ago"; }
    return Math.round(hours / 24) + " days ago";
  }
  function setup() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var then = new Date(el.getAttribute("datetime"));
      if (isNaN(then.getTime()) || el.dataset.age) { return; }
      el.dataset.age = "1";
      el.insertAdjacentText("afterend", " (" + age(then) + ")");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
