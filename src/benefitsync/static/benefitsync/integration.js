// Live progress of a running Personio sync: polls the run's status endpoint and shows the
// outcome and counts in place, without a reload. Without JS the page says "running" and a
// reload shows the result.
(() => {
  const box = document.getElementById("run-progress");
  const url = box && box.dataset.statusUrl;
  if (!url) return;
  const show = (run) => {
    const badge = document.createElement("span");
    badge.className = "badge " + (run.done ? (run.status === "failed" ? "badge-missing" : run.status === "held" || run.status === "partly_failed" ? "badge-leaving" : "badge-active") : "badge-left");
    badge.dataset.runStatus = run.status;
    badge.textContent = run.status_display;
    const text = document.createElement("span");
    const progress = run.fetched ? ` ${run.fetched} ${run.progress_label} …` : " …";
    text.textContent = run.done ? " " + (run.count_texts || Object.entries(run.counts).map(([k, n]) => `${n} ${run.count_labels[k]}`)).join(" · ") + (run.message ? " — " + run.message : "") : progress;
    const p = document.createElement("p");
    p.append(badge, text);
    if (run.done) {
      const link = document.createElement("a");
      link.href = run.url; link.textContent = " " + (box.dataset.detailsLabel || "Details");
      p.append(" ", link);
    }
    box.replaceChildren(p);
    if (run.status === "held") location.reload();  // shows the Confirm / Discard section
    else if (!run.done) setTimeout(poll, 1000);
  };
  const poll = () => fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then(show)
    .catch(() => setTimeout(poll, 5000));
  poll();
})();
