"use strict";
// The page works without this script (every thumbnail links to its image); the script
// adds the filter box, the state filter and the viewer. Cards are rendered in the HTML,
// so this only toggles `hidden` on them: a few milliseconds for thousands of cards.
(() => {
  const records = JSON.parse(document.getElementById("data").textContent);
  const cards = Array.from(document.querySelectorAll(".card"));
  const groups = Array.from(document.querySelectorAll(".group"));
  const query = document.getElementById("q");
  const state = document.getElementById("state");
  const count = document.getElementById("count");
  const viewer = document.getElementById("viewer");
  const title = document.getElementById("viewer-title");
  const pos = document.getElementById("viewer-pos");
  const images = document.getElementById("viewer-images");
  const details = document.getElementById("viewer-details");
  const entry = document.getElementById("viewer-entry");
  let current = null;
  let opener = null;

  function apply() {
    const terms = query.value.toLowerCase().split(/\s+/).filter(Boolean);
    const want = state.value;
    let shown = 0;
    for (const card of cards) {
      const text = card.dataset.search;
      const ok = (!want || card.dataset.state === want) && terms.every((t) => text.includes(t));
      card.hidden = !ok;
      if (ok) shown += 1;
    }
    for (const group of groups) group.hidden = !group.querySelector(".card:not([hidden])");
    count.textContent = `${shown} of ${cards.length}`;
  }

  function visible() {
    return cards.filter((c) => !c.hidden);
  }

  function el(tag, props, children) {
    const node = Object.assign(document.createElement(tag), props || {});
    for (const child of children || []) node.append(child);
    return node;
  }

  function show(card) {
    const record = records[Number(card.dataset.i)];
    current = card;
    title.textContent = record.title;
    const shown = visible();
    pos.textContent = `${shown.indexOf(card) + 1} of ${shown.length}`;
    images.replaceChildren(
      ...record.images.map((im) =>
        el("figure", {}, [
          im.src
            ? el("a", { href: im.src, title: "open the file" }, [el("img", { src: im.src, alt: im.alt })])
            : el("p", { className: "missing", textContent: im.note || "no image" }),
          el("figcaption", { textContent: im.caption || "" }),
        ]),
      ),
    );
    details.replaceChildren(
      ...record.details.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]),
    );
    entry.textContent = record.entry || "";
  }

  function open(card) {
    opener = card;
    show(card);
    if (!viewer.open) viewer.showModal();
    document.getElementById("viewer-close").focus();
  }

  function step(delta) {
    const shown = visible();
    const next = shown[shown.indexOf(current) + delta];
    if (next) {
      opener = next;
      show(next);
    }
  }

  query.addEventListener("input", apply);
  state.addEventListener("change", apply);
  document.querySelector("main").addEventListener("click", (event) => {
    const target = event.target.closest(".open");
    if (!target || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    open(target.closest(".card"));
  });
  document.getElementById("viewer-prev").addEventListener("click", () => step(-1));
  document.getElementById("viewer-next").addEventListener("click", () => step(1));
  document.getElementById("viewer-close").addEventListener("click", () => viewer.close());
  viewer.addEventListener("click", (event) => {
    if (event.target === viewer) viewer.close(); // a click on the backdrop
  });
  viewer.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") step(-1);
    else if (event.key === "ArrowRight") step(1);
    else if (event.key === "Home") step(-visible().indexOf(current));
    else if (event.key === "End") step(visible().length - 1 - visible().indexOf(current));
    else return;
    event.preventDefault();
  });
  viewer.addEventListener("close", () => {
    // Give focus back to the card the viewer ended on, so Tab continues from there.
    const target = opener && opener.querySelector(".open");
    if (target) {
      target.scrollIntoView({ block: "nearest" });
      target.focus();
    }
  });
  document.addEventListener("keydown", (event) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (event.key === "/" && !typing && !viewer.open) {
      event.preventDefault();
      query.focus();
    }
  });
  apply();
})();
