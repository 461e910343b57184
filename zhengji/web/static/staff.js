// The staff pages' behaviour, loaded from this site (the Content-Security-Policy allows no inline script).
// Every page works without it; it adds keyboard navigation of the queue, select-all, and reason templates.
(function () {
  "use strict";

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table.queue tbody tr[data-reference]"));
  }

  function current() {
    return document.querySelector("table.queue tbody tr.current");
  }

  function focusRow(row) {
    rows().forEach(function (other) { other.classList.remove("current"); });
    if (row) {
      row.classList.add("current");
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(current());
    var next = index < 0 ? 0 : Math.min(Math.max(index + step, 0), all.length - 1);
    focusRow(all[next]);
  }

  function selectedCount() {
    var counter = document.getElementById("selected-count");
    if (counter) {
      counter.textContent = String(document.querySelectorAll("table.queue tbody input[name=references]:checked").length);
    }
  }

  function actOn(row, action) {
    var form = document.getElementById("bulk");
    if (!form || !row) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("input[name=references]"), function (box) {
      box.checked = box.value === row.dataset.reference;
    });
    var button = form.querySelector("button[name=action][value=" + action + "]");
    if (button) { button.click(); }
  }

  function typing(event) {
    var target = event.target;
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) { return; }
    var help = document.getElementById("keyhelp");
    var row = current();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
        if (event.target !== row) { return; }  // Enter on a link or a button does what it always does
        window.location.href = row.dataset.href;
        break;
      case "o":
        if (row && row.dataset.href) { window.location.href = row.dataset.href; } else { return; }
        break;
      case "x":
        if (row) {
          var box = row.querySelector("input[name=references]");
          box.checked = !box.checked;
          selectedCount();
        }
        break;
      case "a": actOn(row, "accept"); break;
      case "r": actOn(row, "return"); break;
      case "/":
        var search = document.getElementById("search");
        if (search) { search.focus(); } else { return; }
        break;
      case "?":
        if (help) { help.hidden = !help.hidden; } else { return; }
        break;
      case "Escape":
        if (help) { help.hidden = true; }
        return;
      case "n":
        var next = document.getElementById("next-case");
        if (next) { window.location.href = next.href; } else { return; }
        break;
      case "u":
        var back = document.getElementById("back-to-queue");
        if (back) { window.location.href = back.href; } else { return; }
        break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "check-all") {
      Array.prototype.forEach.call(document.querySelectorAll("table.queue tbody input[name=references]"), function (box) {
        box.checked = target.checked;
      });
    }
    if (target.name === "references" || target.id === "check-all") { selectedCount(); }
    if (target.tagName === "SELECT" && target.dataset.fills) {
      var option = target.options[target.selectedIndex];
      var field = document.getElementById(target.dataset.fills);
      if (field && option && option.dataset.body) {
        field.value = option.dataset.body;
        if (option.dataset.action) {
          var radio = document.querySelector("input[name=action][value=" + option.dataset.action + "]");
          if (radio) { radio.checked = true; }
        }
      }
    }
  });

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("table.queue tbody tr[data-reference]");
    if (row) { focusRow(row); }
  });

  document.addEventListener("htmx:afterSwap", function () { selectedCount(); });
  document.addEventListener("DOMContentLoaded", selectedCount);
})();
