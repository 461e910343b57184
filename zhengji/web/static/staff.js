// The staff pages' behaviour, loaded from this site (the Content-Security-Policy allows no inline script).
// Every page works without it; it adds keyboard navigation of the queue and of a case (a, r, n; one tab stop a
// form for its corrections), select-all, reason templates, and a click on a field that opens its correction and
// turns the PDF pane to its page.
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

  // --- one submission's page -------------------------------------------------------------------------------

  // The decision by keyboard, as in the queue: a chooses 通过 and shows the mail before it is sent (nothing is
  // sent without the confirming click); r chooses 退回修改 and puts the cursor in the reason it needs.
  function decideHere(action) {
    var panel = document.getElementById("decision");
    var form = panel && panel.querySelector("form");
    var radio = form && form.querySelector("input[name=action][value=" + action + "]");
    if (!radio) { return false; }
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    if (action === "accept") {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    } else {
      var reason = form.querySelector("textarea[name=reason]");
      (reason || radio).focus();
      panel.scrollIntoView({ block: "nearest" });
    }
    return true;
  }

  // The PDF pane turns to a field's page (when the page is known) for the form the field belongs to.
  function showPage(place) {
    var form = place.closest(".form-view");
    var frame = document.querySelector("iframe[name=preview]");
    if (!form || !frame || !form.dataset.pdf) { return; }
    var page = place.dataset.page;
    var wanted = form.dataset.pdf + (page ? "?page=" + page + "#page=" + page : "");
    if (frame.getAttribute("src") !== wanted) { frame.setAttribute("src", wanted); }
    frame.scrollIntoView({ block: "nearest" });
  }

  // A click on a value opens its correction, with the cursor in it.
  function openFix(place) {
    var details = place.querySelector("details.fix");
    if (!details) { return; }
    details.open = true;
    var field = details.querySelector("textarea");
    if (field) { field.focus(); }
  }

  // One tab stop a form for its 更正 controls; the arrow keys move between them (a roving tab index).
  function rovingSummaries() {
    Array.prototype.forEach.call(document.querySelectorAll(".form-view"), function (form) {
      Array.prototype.forEach.call(form.querySelectorAll("details.fix > summary"), function (summary, index) {
        summary.setAttribute("tabindex", index === 0 ? "0" : "-1");
      });
    });
  }

  function roveFrom(summary, step) {
    var form = summary.closest(".form-view");
    if (!form) { return; }
    var all = Array.prototype.slice.call(form.querySelectorAll("details.fix > summary"));
    var index = all.indexOf(summary);
    var next = all[step === Infinity ? all.length - 1 : step === -Infinity ? 0 : Math.min(Math.max(index + step, 0), all.length - 1)];
    if (!next || next === summary) { return; }
    summary.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || !target.matches || !target.matches(".form-view details.fix > summary")) { return; }
    var steps = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity };
    if (!(event.key in steps)) { return; }
    roveFrom(target, steps[event.key]);
    event.preventDefault();
    event.stopPropagation();
  }, true);

  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.matches && details.matches(".form-view details.fix") && details.open) {
      var place = details.closest("[data-path]");
      if (place) { showPage(place); }
    }
  }, true);

  document.addEventListener("click", function (event) {
    var skip = event.target.closest && event.target.closest(".skip-link");
    if (skip) {
      var first = document.querySelector("#decision input:not([type=hidden]), #decision select, #decision textarea, #decision button");
      if (first) { event.preventDefault(); first.focus(); first.scrollIntoView({ block: "nearest" }); }
      return;
    }
    var value = event.target.closest && event.target.closest(".form-view .v, .form-view .v-pdf");
    if (!value) { return; }
    var place = value.closest("td.cell, tr.field");
    if (!place) { return; }
    showPage(place);
    openFix(place);
  });

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
      case "a":
        if (row) { actOn(row, "accept"); } else if (!decideHere("accept")) { return; }
        break;
      case "r":
        if (row) { actOn(row, "return"); } else if (!decideHere("return")) { return; }
        break;
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
  document.addEventListener("DOMContentLoaded", rovingSummaries);
})();
