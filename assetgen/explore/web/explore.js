"use strict";
// The review page's keyboard, on top of the gallery's script (filter box, viewer):
// arrows move between candidates (Left/Right in a row, Up/Down between assets), Enter
// enlarges (the focused thumbnail is a link the gallery's viewer opens), a number key
// selects that candidate of the current row and copies its `assetgen pick` command.
(() => {
  const viewer = document.getElementById("viewer");
  const status = document.getElementById("copied");
  const main = document.querySelector("main");
  const rows = () => Array.from(document.querySelectorAll(".row")).filter((r) => !r.hidden);
  const tilesOf = (row) => Array.from(row.querySelectorAll(".tile")).filter((t) => !t.hidden);

  function focusTile(tile) {
    const target = tile && tile.querySelector(".open");
    if (!target) return false;
    target.focus();
    target.scrollIntoView({ block: "nearest" });
    return true;
  }

  function here() {
    const active = document.activeElement;
    return active && active.closest ? active.closest(".tile") : null;
  }

  async function copy(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (err) {
      // no permission (a page opened from file:// in some browsers): the fallback below
    }
    const area = Object.assign(document.createElement("textarea"), { value: text, readOnly: true });
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (err) {
      ok = false;
    }
    area.remove();
    return ok;
  }

  async function select(tile) {
    const row = tile.closest(".row");
    for (const t of row.querySelectorAll(".tile.selected")) {
      t.classList.remove("selected");
      t.removeAttribute("aria-current");
    }
    tile.classList.add("selected");
    tile.setAttribute("aria-current", "true");
    const command = tile.dataset.cmd;
    status.dataset.cmd = command;
    status.textContent = `selected: ${command}`;
    const ok = await copy(command);
    status.textContent = ok ? `copied: ${command}` : `copy this command: ${command}`;
  }

  main.addEventListener("click", (event) => {
    const button = event.target.closest(".copy");
    if (!button) return;
    event.preventDefault();
    select(button.closest(".tile"));
  });

  document.addEventListener("keydown", (event) => {
    if (viewer.open || event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) return;
    const visible = rows();
    if (!visible.length) return;
    const tile = here();
    const row = tile ? tile.closest(".row") : visible[0];
    if (/^[1-9]$/.test(event.key)) {
      const target = tilesOf(row).find((t) => t.dataset.k === event.key);
      if (target) {
        event.preventDefault();
        focusTile(target);
        select(target);
      }
      return;
    }
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    if (!tile) {
      focusTile(tilesOf(visible[0])[0]);
      return;
    }
    const tiles = tilesOf(row);
    const at = tiles.indexOf(tile);
    if (move[1]) {
      focusTile(tiles[at + move[1]]);
      return;
    }
    const next = visible[visible.indexOf(row) + move[0]];
    if (next) {
      const there = tilesOf(next);
      focusTile(there[Math.min(at, there.length - 1)]);
    }
  });
})();
