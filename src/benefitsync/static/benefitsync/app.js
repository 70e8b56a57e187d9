// Progressive enhancement only: every form works without this file.
document.documentElement.classList.add("js");
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.requestSubmit();
  }
});
// A "select all" box ticks every box of the same name in its form.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement && target.hasAttribute("data-tick-all")) {
    const name = target.getAttribute("data-tick-all");
    for (const box of target.form.querySelectorAll(`input[type=checkbox][name="${name}"]`)) {
      box.checked = target.checked;
    }
  }
});
// The receipt form: the amount's maximum follows the chosen benefit and month (what is left of
// that month's allowance), so the browser says so before the file is uploaded. The server checks
// the same rule again.
function updateReceiptLimit(form) {
  const choice = form.querySelector("select[name=target]");
  const amount = form.querySelector("input[name=amount]");
  const hint = form.querySelector("[data-left-hint]");
  if (!choice || !amount) return;
  const option = choice.selectedOptions[0];
  if (!option) return;
  amount.max = option.dataset.left;
  if (hint) hint.textContent = option.dataset.leftText || "";
}
document.addEventListener("change", (event) => {
  const form = event.target instanceof Element ? event.target.closest("form[data-receipt-form]") : null;
  if (form) updateReceiptLimit(form);
});
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-receipt-form]")) updateReceiptLimit(form);
});
