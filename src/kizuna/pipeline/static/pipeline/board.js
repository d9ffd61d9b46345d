// Deal board: drag a card onto another stage to move the deal. The server applies the same
// rule as everywhere else; when the stage needs fields the deal lacks, it answers with a
// form for them, shown in a dialog, and the move completes when the form is sent.
(function () {
  "use strict";
  const board = document.querySelector("[data-board]");
  if (!board) return;
  const csrf = board.dataset.csrf;
  const status = document.getElementById("board-status");
  const dialog = document.getElementById("move-dialog");
  const dialogBody = dialog.querySelector("[data-dialog-body]");
  let dragged = null;

  function say(text) {
    status.textContent = text;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf },
    });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = { ok: false, message: response.statusText };
    }
    return data;
  }

  function showPrompt(url, html, card) {
    dialogBody.innerHTML = html;
    const form = dialogBody.querySelector("[data-move-form]");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const data = await post(url, new FormData(form));
      handle(url, data, card);
    });
    const cancel = form.querySelector("[data-close]");
    cancel.addEventListener("click", function (event) {
      event.preventDefault();
      dialog.close();
      card.focus();
    });
    if (!dialog.open) dialog.showModal();
    const first = form.querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  }

  function handle(url, data, card) {
    if (data.ok) {
      if (dialog.open) dialog.close();
      say(data.message);
      window.location.reload();
    } else if (data.form) {
      showPrompt(url, data.form, card);
    } else {
      if (dialog.open) dialog.close();
      say(data.message || "");
    }
  }

  async function move(card, stage) {
    const body = new FormData();
    body.set("stage", stage);
    body.set("next", window.location.pathname);
    const url = card.dataset.moveUrl;
    handle(url, await post(url, body), card);
  }

  board.querySelectorAll(".deal-card").forEach(function (card) {
    card.tabIndex = -1;
  });

  board.addEventListener("dragstart", function (event) {
    const card = event.target.closest(".deal-card");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });
  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    board.querySelectorAll(".drop-target").forEach(function (column) {
      column.classList.remove("drop-target");
    });
  });
  board.querySelectorAll(".board-column").forEach(function (column) {
    column.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      column.classList.add("drop-target");
    });
    column.addEventListener("dragleave", function (event) {
      if (!column.contains(event.relatedTarget)) column.classList.remove("drop-target");
    });
    column.addEventListener("drop", function (event) {
      event.preventDefault();
      column.classList.remove("drop-target");
      const card = dragged;
      dragged = null;
      if (!card || card.closest(".board-column") === column) return;
      move(card, column.dataset.stage);
    });
  });
})();
