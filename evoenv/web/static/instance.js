// Instance viewer: sample a new instance through the JSON API without reloading the page.
(function () {
  const form = document.getElementById("instance-form");
  if (!form) return;
  const api = form.dataset.api;
  const slider = document.getElementById("difficulty");
  const seed = document.getElementById("seed");
  const status = document.getElementById("instance-status");
  const errorBox = document.getElementById("instance-error");
  const body = document.getElementById("instance-body");
  let pending = null;

  async function sample() {
    const params = new URLSearchParams({ seed: seed.value || "0", difficulty: slider.value, reveal: "true" });
    if (pending) pending.abort();
    pending = new AbortController();
    status.textContent = "sampling…";
    try {
      const response = await fetch(`${api}?${params}`, { signal: pending.signal });
      const data = await response.json();
      if (!response.ok) throw new Error(data.detail || response.statusText);
      document.getElementById("prompt").textContent = data.prompt;
      document.getElementById("reference").textContent = data.reference;
      document.getElementById("instance-json").textContent = JSON.stringify(data.instance, null, 2);
      document.getElementById("instance-label").textContent = `seed ${data.seed} · difficulty ${data.difficulty}`;
      document.getElementById("reveal").open = false;
      errorBox.hidden = true;
      body.hidden = false;
      status.textContent = "runs in the sandbox";
      history.replaceState(null, "", `?seed=${data.seed}&difficulty=${data.difficulty}#instance`);
    } catch (err) {
      if (err.name === "AbortError") return;
      errorBox.textContent = String(err.message || err);
      errorBox.hidden = false;
      status.textContent = "";
    }
  }

  slider.addEventListener("input", () => { document.getElementById("dval").textContent = slider.value; });
  slider.addEventListener("change", sample);
  seed.addEventListener("change", sample);
  document.getElementById("random-seed").addEventListener("click", () => {
    seed.value = Math.floor(Math.random() * 1000000);
    sample();
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); sample(); });
})();
