// Progressive enhancement only: every form works without this file.
document.documentElement.classList.replace("no-js", "js");

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.classList.contains("confirm")) {
    if (!window.confirm(form.dataset.confirm || "Are you sure?")) event.preventDefault();
  }
});

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const toggle = target && target.closest(".menu-toggle");
  if (toggle) {
    const open = document.body.classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    return;
  }
  if (target && target.closest("button.history-back")) {
    window.history.back();
    return;
  }
  const copy = target && target.closest("button.copy");
  if (copy) {
    const source = document.getElementById(copy.getAttribute("data-copy") || "");
    if (!source) return;
    const value = source.textContent.trim();
    const done = () => {
      const label = copy.textContent;
      copy.textContent = "Copied";
      window.setTimeout(() => { copy.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(done, () => selectText(source));
    } else {
      selectText(source);
    }
  }
});

function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

// Copy buttons are added only when script runs (without it the value is still selectable).
function addCopyButtons() {
  let n = 0;
  document.querySelectorAll("[data-copyable]").forEach((node) => {
    if (!node.id) node.id = "copy-" + (++n);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.setAttribute("data-copy", node.id);
    button.setAttribute("aria-label", "Copy " + (node.getAttribute("data-copyable") || "value"));
    button.textContent = "Copy";
    node.insertAdjacentElement("afterend", button);
  });
}

// Live progress: an element with data-poll="/path.json" asks every second until the job is done.
function pollJobs() {
  document.querySelectorAll("[data-poll]").forEach((box) => {
    const url = box.getAttribute("data-poll");
    const status = box.querySelector("[data-status]") || box;
    const tick = () => {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((job) => {
          status.textContent = job.message || job.state;
          if (job.done) {
            box.classList.remove("running");
            const spinner = box.querySelector(".spinner");
            if (spinner) spinner.remove();
            if (job.location && box.hasAttribute("data-reload")) window.location.assign(job.location);
          } else {
            window.setTimeout(tick, 1000);
          }
        })
        .catch(() => { status.textContent = "Could not read the progress; reload the page."; });
    };
    tick();
  });
}

// A table wider than its box scrolls inside it (phone width); keyboard users can then focus it
// and scroll with the arrow keys.
function focusableScrollers() {
  document.querySelectorAll("table").forEach((table) => {
    if (table.scrollWidth > table.clientWidth + 1) table.setAttribute("tabindex", "0");
    else table.removeAttribute("tabindex");
  });
}

// Table filter: an input with data-filter hides the rows of the page's tables that do not contain
// its text; the text is kept in the address (?filter=...) so a reload or a shared link keeps it.
function tableFilters() {
  document.querySelectorAll("input[data-filter]").forEach((input) => {
    const params = new URLSearchParams(window.location.search);
    const apply = () => {
      const needle = input.value.trim().toLowerCase();
      document.querySelectorAll(input.getAttribute("data-filter")).forEach((row) => {
        row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
      });
      const url = new URL(window.location.href);
      if (needle) url.searchParams.set("filter", input.value.trim());
      else url.searchParams.delete("filter");
      window.history.replaceState(null, "", url);
    };
    input.value = params.get("filter") || "";
    input.addEventListener("input", apply);
    if (input.value) apply();
  });
}

// Bulk selection: a header checkbox with data-select="NAME" ticks every box named NAME in its table.
function selectAll() {
  document.querySelectorAll("input.select-all[data-select]").forEach((all) => {
    const boxes = () => all.closest("table").querySelectorAll(`tbody input[type=checkbox][name="${all.getAttribute("data-select")}"]`);
    all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  tableFilters();
  selectAll();
  focusableScrollers();
  window.addEventListener("resize", focusableScrollers);
  addCopyButtons();
  pollJobs();
});
