/* The profile editor: rows (add, remove), variable pickers, and hiding what does not apply to the chosen
 * platform, certificate type and subject name format. Only hiding: the form's clean on the server resets
 * what does not apply and checks every rule. The rules come from the page (#profile-editor-rules). */
(function () {
  "use strict";

  var rulesElement = document.getElementById("profile-editor-rules");
  var rules = rulesElement ? JSON.parse(rulesElement.textContent) : { fields: {} };
  var form = document.querySelector("#content-main form");
  if (!form) { return; }

  function value(name) {
    var element = form.querySelector("#id_" + name);
    return element ? element.value : null;
  }

  function changed(element) {
    element.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function holds(rule, facts) {
    var checks = [];
    [["platforms", facts.platform], ["certificate_types", facts.certificate_type],
     ["subject_name_formats", facts.subject_name_format]].forEach(function (pair) {
      var allowed = rule[pair[0]];
      if (allowed !== null && allowed !== undefined && pair[1] !== null) {
        checks.push(allowed.indexOf(pair[1]) >= 0);
      }
    });
    if (!checks.length) { return true; }
    return rule.any_of ? checks.some(Boolean) : checks.every(Boolean);
  }

  function setOptions(select, allowed) {
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.value) { return; }
      option.disabled = !allowed(option);
      option.hidden = option.disabled && !option.selected;
    });
  }

  function apply() {
    var facts = {
      platform: value("platform"),
      certificate_type: value("certificate_type"),
      subject_name_format: value("subject_name_format"),
    };
    if (facts.platform === null) { return; } // read only: everything saved is shown
    Object.keys(rules.fields || {}).forEach(function (name) {
      form.querySelectorAll(".form-row.field-" + name).forEach(function (row) {
        row.hidden = !holds(rules.fields[name], facts);
      });
    });
    var certificateType = form.querySelector("#id_certificate_type");
    if (certificateType && rules.device_certificate_platforms) {
      setOptions(certificateType, function (option) {
        return option.value !== "device" || rules.device_certificate_platforms.indexOf(facts.platform) >= 0;
      });
    }
    var nameFormat = form.querySelector("#id_subject_name_format");
    if (nameFormat && rules.subject_name_formats && facts.certificate_type) {
      var usable = rules.subject_name_formats[facts.certificate_type] || [];
      setOptions(nameFormat, function (option) { return usable.indexOf(option.value) >= 0; });
    }
    form.querySelectorAll("select.variable-picker").forEach(function (picker) {
      setOptions(picker, function (option) {
        var types = (option.dataset.types || "").split(" ");
        var inSubject = picker.dataset.where === "subject";
        return types.indexOf(facts.certificate_type) >= 0 && !(inSubject && option.dataset.where === "uri");
      });
    });
    if (rules.san_types && facts.certificate_type) {
      var sanTypes = rules.san_types[facts.certificate_type] || [];
      form.querySelectorAll('select[name="subject_alternative_names__type"]').forEach(function (select) {
        setOptions(select, function (option) { return sanTypes.indexOf(option.value) >= 0; });
      });
    }
    form.querySelectorAll('select[name="extended_key_usages__eku"]').forEach(ekuRow);
    assignmentRows();
  }

  /* EKU rows: the name and OID inputs are for a custom OID only. */
  function ekuRow(select) {
    var row = select.closest("tr");
    var custom = select.value === "custom";
    var oid = row.querySelector("td.col-oid input");
    var name = row.querySelector("td.col-name input");
    if (oid) {
      if (!custom) { oid.value = select.value; }
      oid.readOnly = !custom;
      oid.classList.toggle("readonly-value", !custom);
      oid.tabIndex = custom ? 0 : -1;
    }
    if (name) { // still posted when hidden: the rows' columns stay aligned
      name.style.visibility = custom ? "visible" : "hidden";
      name.tabIndex = custom ? 0 : -1;
    }
  }

  /* Assignments: only a group is chosen for "Group", and only groups can be excluded. */
  function assignmentRows() {
    form.querySelectorAll(".inline-group tr.form-row").forEach(function (row) {
      var target = row.querySelector('select[name$="-target"]');
      var group = row.querySelector('select[name$="-group"]');
      var intent = row.querySelector('select[name$="-intent"]');
      if (!target || !group) { return; }
      var isGroup = target.value === "group";
      group.disabled = !isGroup;
      group.closest("td").classList.toggle("not-applicable", !isGroup);
      if (intent) {
        setOptions(intent, function (option) { return isGroup || option.value !== "exclude"; });
      }
    });
  }

  /* Rows widgets. */
  function refreshEmpty(widget) {
    var empty = widget.querySelector(".rows-empty");
    if (empty) { empty.hidden = widget.querySelectorAll("tbody tr").length > 0; }
  }

  form.addEventListener("click", function (event) {
    var add = event.target.closest(".profile-rows .row-add");
    if (add) {
      var widget = add.closest(".profile-rows");
      var template = widget.querySelector("template.row-template");
      var tbody = widget.querySelector("tbody");
      tbody.appendChild(template.content.cloneNode(true));
      refreshEmpty(widget);
      apply();
      var first = tbody.lastElementChild.querySelector("input, select");
      if (first) { first.focus(); }
      changed(tbody);
      return;
    }
    var remove = event.target.closest(".profile-rows .row-remove-button");
    if (remove) {
      var rowsWidget = remove.closest(".profile-rows");
      remove.closest("tr").remove();
      refreshEmpty(rowsWidget);
      changed(rowsWidget);
    }
  });

  /* Variable pickers insert {{Name}} at the cursor of their input. */
  function insert(input, text) {
    var start = input.selectionStart === null ? input.value.length : input.selectionStart;
    var end = input.selectionEnd === null ? input.value.length : input.selectionEnd;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.focus();
    input.setSelectionRange(start + text.length, start + text.length);
    changed(input);
  }

  form.addEventListener("change", function (event) {
    var picker = event.target.closest("select.variable-picker");
    if (picker) {
      var input = picker.dataset.target
        ? document.getElementById(picker.dataset.target)
        : picker.closest("tr").querySelector("td.col-" + picker.dataset.rowTarget + " input");
      if (input && picker.value) { insert(input, picker.value); }
      picker.value = "";
      return;
    }
    if (event.target.matches("#id_platform, #id_certificate_type, #id_subject_name_format, select[name$=-target], select[name=extended_key_usages__eku]")) {
      apply();
    }
  });

  document.addEventListener("formset:added", apply);

  /* The live preview shows the naming errors as they are now: the ones the last save showed go. */
  document.body.addEventListener("htmx:afterSwap", function () {
    form.querySelectorAll(".live-errors").forEach(function (list) {
      var row = list.closest(".form-row");
      if (!row) { return; }
      row.querySelectorAll("ul.errorlist:not(.live-errors)").forEach(function (old) { old.remove(); });
      row.classList.toggle("errors", list.children.length > 0);
    });
  });

  apply();
})();
