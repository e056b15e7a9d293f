// The page's whole client: EventSource for the stream, text nodes for everything the model wrote.
// Model text is never parsed as HTML: a delta is appended to a Text node, so "<script>" stays text.
"use strict";

const $ = (selector) => document.querySelector(selector);
let current = null; // { source, turn } while an answer streams

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function newTurn(message) {
  $("#transcript").append(element("div", "turn user", message));
  const box = element("div", "turn assistant");
  const answer = element("div", "answer");
  const text = document.createTextNode("");
  const status = element("div", "status", "connecting…");
  answer.append(text);
  box.append(answer, status);
  box.dataset.state = "connecting";
  $("#transcript").append(box);
  return { box, answer, text, status, tools: {} };
}

function finish(state, note) {
  if (!current) return;
  current.source.close(); // also stops EventSource from reconnecting
  current.turn.box.dataset.state = state;
  current.turn.status.textContent = note;
  current = null;
  $("#stop").disabled = true;
  $("#send").disabled = false;
}

function ask(message) {
  message = message.trim();
  if (!message) return;
  finish("stopped", "stopped");
  const backend = $("#backend").value;
  const turn = newTurn(message);
  const source = new EventSource(`/chat/stream?${new URLSearchParams({ message, backend })}`);
  current = { source, turn };
  $("#stop").disabled = false;
  $("#send").disabled = true;
  const on = (name, handle) => source.addEventListener(name, (event) => {
    if (current && current.source === source) handle(JSON.parse(event.data));
  });
  on("session_update", (data) => { turn.box.dataset.session = data.session_id; turn.box.dataset.state = "streaming"; });
  on("typing_start", () => { turn.status.textContent = "typing…"; });
  on("text_delta", (data) => { turn.text.appendData(data.delta); });
  on("tool_start", (data) => {
    const line = element("div", "tool", `tool ${data.name}(${data.arguments}) …`);
    turn.tools[data.name] = line;
    turn.answer.before(line);
  });
  on("tool_complete", (data) => {
    const line = turn.tools[data.name] || element("div", "tool");
    line.textContent = `tool ${data.name} → ${data.output}`;
    if (!line.isConnected) turn.answer.before(line);
  });
  on("response_complete", (data) => {
    turn.box.dataset.finalLength = String(data.character_count);
    const ttft = data.ttft_ms === null ? "no text" : `first text after ${Math.round(data.ttft_ms)} ms`;
    finish("complete", `${data.word_count} words, ${data.character_count} characters, ${ttft}`);
  });
  source.addEventListener("error", (event) => {
    if (!current || current.source !== source) return;
    if (event.data) { // the server's own `error` event
      const data = JSON.parse(event.data);
      finish("error", `error (${data.code}): ${data.message}`);
    } else { // the connection failed or dropped; do not let EventSource ask again
      finish("error", "connection lost");
    }
  });
}

let promptsAsked = 0;

async function loadPrompts() {
  const asked = ++promptsAsked;
  const backend = $("#backend").value;
  const box = $("#suggestions");
  box.replaceChildren();
  const reply = await fetch(`/chat/prompts?${new URLSearchParams({ backend })}`);
  const data = await reply.json();
  if (asked !== promptsAsked) return; // the backend changed while this list was on its way
  $("#mode").textContent = `${data.mode} mode`;
  $("#message").maxLength = data.max_message_chars;
  for (const prompt of data.prompts) {
    const button = element("button", "suggestion", prompt);
    button.type = "button";
    button.addEventListener("click", () => ask(prompt));
    box.append(button);
  }
  for (const problem of data.problems || []) { // a fixture file that could not be read: say which
    box.append(element("p", "problem", `Fixture not loaded: ${problem}`));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#ask").addEventListener("submit", (event) => {
    event.preventDefault();
    ask($("#message").value);
    $("#message").value = "";
  });
  $("#stop").addEventListener("click", () => finish("stopped", "stopped"));
  $("#backend").addEventListener("change", loadPrompts);
  loadPrompts();
});
