// Mediawatch console: copy buttons. No framework, no build step, nothing fetched from elsewhere.
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function done(button, label) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = label;
    button.classList.add("copied");
    window.setTimeout(function () {
      button.textContent = original;
      button.classList.remove("copied");
    }, 2000);
  }

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    var text = source.value;
    // a hook for tests and other scripts: what the last copy put on the clipboard
    window.mediawatchLastCopy = text;
    document.body.setAttribute("data-last-copy", button.getAttribute("data-copy-target"));
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { done(button, "Copied"); },
        function () { done(button, fallbackCopy(text) ? "Copied" : "Select and copy"); }
      );
    } else {
      done(button, fallbackCopy(text) ? "Copied" : "Select and copy");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy-target]");
    if (button) { copy(button); }
  });
})();
