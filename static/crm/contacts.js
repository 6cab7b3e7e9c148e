// The contacts table: row selection for bulk actions, "select all matching", the delete confirmation,
// and the segment picker that applies itself. Without it the page still works: tick rows and submit.
(function () {
  "use strict";

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.requestSubmit();
    });
  });

  var form = document.getElementById("bulk-form");
  if (!form) return;
  var total = Number(form.getAttribute("data-total"));
  var rows = Array.from(document.querySelectorAll("[data-bulk-row]"));
  var pageBox = document.querySelector("[data-bulk-page]");
  var allInput = form.querySelector("[data-bulk-all]");
  var countLabel = form.querySelector("[data-bulk-count]");
  var selectAll = form.querySelector("[data-bulk-select-all]");
  var actions = Array.from(form.querySelectorAll("[data-bulk-action]"));
  var idle = countLabel.textContent;

  function plural(count) {
    return count.toLocaleString() + " contact" + (count === 1 ? "" : "s");
  }

  function selectedCount() {
    if (allInput.value === "1") return total;
    return rows.filter(function (box) {
      return box.checked;
    }).length;
  }

  function update() {
    var ticked = rows.filter(function (box) {
      return box.checked;
    }).length;
    if (ticked < rows.length) allInput.value = "0";
    var count = selectedCount();
    if (allInput.value === "1") countLabel.textContent = "All " + plural(total) + " matching are selected.";
    else countLabel.textContent = count ? plural(count) + " selected." : idle;
    selectAll.hidden = !(ticked === rows.length && rows.length < total && allInput.value !== "1");
    if (pageBox) {
      pageBox.checked = ticked === rows.length && rows.length > 0;
      pageBox.indeterminate = ticked > 0 && ticked < rows.length;
    }
    actions.forEach(function (button) {
      button.disabled = count === 0;
    });
    form.classList.toggle("has-selection", count > 0);
  }

  rows.forEach(function (box) {
    box.addEventListener("change", update);
  });
  if (pageBox) {
    pageBox.addEventListener("change", function () {
      rows.forEach(function (box) {
        box.checked = pageBox.checked;
      });
      update();
    });
  }
  selectAll.addEventListener("click", function () {
    allInput.value = "1";
    update();
  });

  form.addEventListener("submit", function (event) {
    var action = event.submitter ? event.submitter.value : "";
    var tags = form.querySelector("[name=tags]");
    if ((action === "tag" || action === "untag") && !tags.value.trim()) {
      event.preventDefault();
      tags.focus();
      tags.setCustomValidity("Type the tag to add or remove.");
      tags.reportValidity();
      return;
    }
    if (action === "delete") {
      var message = "Delete " + plural(selectedCount()) + "? Their timelines, consents and scores go too. This cannot be undone.";
      if (!window.confirm(message)) event.preventDefault();
    }
  });
  form.querySelector("[name=tags]").addEventListener("input", function (event) {
    event.target.setCustomValidity("");
  });

  update();
})();
