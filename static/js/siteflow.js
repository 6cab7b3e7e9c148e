// Small progressive enhancements for the dashboard; every page works without them.
(function () {
  "use strict";

  // Forms marked data-confirm ask first (htmx forms use hx-confirm instead).
  document.addEventListener(
    "submit",
    function (event) {
      var message = event.target.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP hosts other than localhost have no clipboard API.
    var scratch = document.createElement("textarea");
    scratch.value = text;
    scratch.setAttribute("readonly", "");
    scratch.style.position = "fixed";
    scratch.style.opacity = "0";
    document.body.appendChild(scratch);
    scratch.select();
    try {
      document.execCommand("copy");
    } finally {
      document.body.removeChild(scratch);
    }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var copyButton = event.target.closest("[data-copy]");
    if (copyButton) {
      var source = document.getElementById(copyButton.getAttribute("data-copy"));
      if (source) {
        copyText(source.value || source.textContent).then(function () {
          var label = copyButton.textContent;
          copyButton.textContent = "Copied";
          window.setTimeout(function () {
            copyButton.textContent = label;
          }, 1600);
        });
      }
      return;
    }

    if (event.target.closest("[data-sidebar-toggle]")) {
      document.body.classList.toggle("sidebar-open");
      return;
    }

    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var flash = dismiss.closest(".flash");
      if (flash) flash.remove();
      return;
    }

    // Clicking outside an open dropdown closes it.
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      menu.removeAttribute("open");
    });
    document.body.classList.remove("sidebar-open");
  });

  // Secrets shown once are selected on focus, so a manual copy takes one keystroke.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("input[data-select-on-focus]")) event.target.select();
  });
})();
