/* Show and hide conditional questions as the patient answers.
 * Progressive enhancement only: the server evaluates the same enable-when rules (intake/
 * validation.py) on every Continue and discards answers to hidden questions, so a page
 * without this script is still correct. No dependencies. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-intake-step]");
  if (!form) return;

  function answersFor(linkId) {
    var inputs = form.querySelectorAll('[name="' + linkId + '"]');
    var values = [];
    inputs.forEach(function (input) {
      var wrapper = input.closest("[data-link-id]");
      if (wrapper && wrapper.hidden) return;
      if (input.tagName === "SELECT") {
        Array.prototype.forEach.call(input.selectedOptions, function (o) { if (o.value) values.push(o.value); });
        return;
      }
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      if (input.list) {
        // autocomplete: the box shows an option's label; rules compare its code
        var match = Array.prototype.find.call(input.list.options, function (o) { return o.value === input.value.trim(); });
        if (match) values.push(match.getAttribute("data-code"));
        return;
      }
      if (input.type === "file") { if (input.files && input.files.length) values.push("file"); return; }
      if (input.value.trim() !== "") values.push(input.value.trim());
    });
    return values;
  }

  function typeOf(linkId) {
    var wrapper = form.querySelector('[data-link-id="' + linkId + '"]');
    return wrapper ? wrapper.getAttribute("data-type") : null;
  }

  function coerce(type, value) {
    if (type === "integer" || type === "decimal") { var n = Number(value); return isNaN(n) ? value : n; }
    if (type === "boolean") { return ["true", "yes", "1"].indexOf(String(value).toLowerCase()) >= 0; }
    if (type === "time" && /^\d\d:\d\d$/.test(String(value))) { return value + ":00"; }
    if (type === "quantity") { var q = Number(String(value).split(" ")[0]); return isNaN(q) ? value : q; }
    return String(value);
  }

  function compare(op, actual, expected) {
    switch (op) {
      case "=": return actual === expected;
      case "!=": return actual !== expected;
      case ">": return actual > expected;
      case "<": return actual < expected;
      case ">=": return actual >= expected;
      case "<=": return actual <= expected;
    }
    return false;
  }

  function ruleMatches(rule) {
    // Questions answered on earlier steps are not on this page: the server already decided
    // those, and the initial hidden state it rendered stays.
    if (!form.querySelector('[name="' + rule.q + '"]')) return null;
    var answers = answersFor(rule.q);
    if (rule.op === "exists") {
      var wanted = ["true", "yes", "1"].indexOf(String(rule.a).toLowerCase()) >= 0;
      return (answers.length > 0) === wanted;
    }
    var type = typeOf(rule.q);
    var expected = coerce(type, rule.a);
    return answers.some(function (value) { return compare(rule.op, coerce(type, value), expected); });
  }

  function update() {
    form.querySelectorAll("[data-enable-when]").forEach(function (el) {
      var spec = JSON.parse(el.getAttribute("data-enable-when"));
      var results = spec.rules.map(ruleMatches);
      if (results.some(function (r) { return r === null; })) return;
      var show = spec.behavior === "any" ? results.some(Boolean) : results.every(Boolean);
      el.hidden = !show;
      el.querySelectorAll("input, textarea, select").forEach(function (input) {
        // a hidden answer is not sent, so the patient's view and the server agree; a read-only
        // one is never editable (the server answers it with its initial value)
        input.disabled = !show || input.hasAttribute("data-read-only");
        var wrapper = input.closest("[data-link-id]");
        var required = wrapper && wrapper.querySelector("[data-required]") && input.type !== "checkbox" && !input.hasAttribute("data-other");
        if (required && input.type !== "file") input.required = show;
      });
    });
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();

/* optionExclusive: in a several-answer question, ticking an exclusive option ("None of these")
 * clears and disables the other options; unticking it enables them again. The server refuses
 * the combination anyway (intake/validation.py), so this only saves the patient a round trip. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-intake-step]");
  if (!form) return;

  function applyExclusive(fieldset) {
    var exclusive = fieldset.querySelectorAll('input[type="checkbox"][data-exclusive]');
    if (!exclusive.length) return;
    var chosen = Array.prototype.some.call(exclusive, function (box) { return box.checked; });
    fieldset.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
      if (box.hasAttribute("data-exclusive")) return;
      if (chosen) box.checked = false;
      box.disabled = chosen;
    });
    fieldset.querySelectorAll("input[data-other]").forEach(function (other) {
      if (chosen) other.value = "";
      other.disabled = chosen;
    });
  }

  form.querySelectorAll("fieldset").forEach(applyExclusive);
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || target.type !== "checkbox") return;
    var fieldset = target.closest("fieldset");
    if (!fieldset) return;
    if (target.hasAttribute("data-exclusive") && target.checked) {
      // Only one exclusive option may stand: ticking one unticks any other exclusive one.
      fieldset.querySelectorAll("input[data-exclusive]").forEach(function (box) {
        if (box !== target) box.checked = false;
      });
    }
    applyExclusive(fieldset);
    // Follow-up questions of the options just cleared must hide again (enable-when above).
    form.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
