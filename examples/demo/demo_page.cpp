#include "demo/demo_page.hpp"

namespace ws::examples {

std::string_view demo_page_html() {
  return R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ws demo: channels</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 2em auto; max-width: 44em; color: #222; }
  h1 { font-size: 1.4em; }
  form { display: flex; gap: .5em; margin: .6em 0; }
  input[type=text] { flex: 1; padding: .35em; font: inherit; }
  button { padding: .35em 1em; font: inherit; }
  #log { border: 1px solid #bbb; border-radius: 4px; height: 22em; overflow-y: auto; padding: .5em; background: #fafafa; }
  .line { margin: .15em 0; white-space: pre-wrap; word-break: break-word; }
  .status { color: #777; font-style: italic; }
  #state { font-weight: bold; }
</style>
</head>
<body>
<h1>ws demo: channels</h1>
<p>Pick a channel and join it. Every message a member sends reaches every member of that
channel, and no other channel. Open a second tab to chat with yourself.</p>
<form id="join">
  <label for="channel">Channel</label>
  <input id="channel" type="text" value="meeting" maxlength="64" pattern="[A-Za-z0-9._\-]{1,64}">
  <button id="join-button" type="submit">Join</button>
</form>
<p>Status: <span id="state">not connected</span></p>
<div id="log" aria-live="polite"></div>
<form id="send">
  <input id="message" type="text" placeholder="Type a message" autocomplete="off" disabled>
  <button id="send-button" type="submit" disabled>Send</button>
</form>
<script>
"use strict";
let socket = null;
const log = document.getElementById("log");
const state = document.getElementById("state");
const messageInput = document.getElementById("message");
const sendButton = document.getElementById("send-button");

function addLine(text, cls) {
  const line = document.createElement("div");
  line.className = "line" + (cls ? " " + cls : "");
  line.textContent = text;
  log.appendChild(line);
  log.scrollTop = log.scrollHeight;
}

function setOpen(open) {
  messageInput.disabled = !open;
  sendButton.disabled = !open;
}

document.getElementById("join").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = document.getElementById("channel").value.trim();
  if (socket) socket.close(1000, "switching channel");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(scheme + location.host + "/channel/" + encodeURIComponent(name));
  ws.binaryType = "arraybuffer";
  socket = ws;
  state.textContent = "connecting to " + name;
  ws.onopen = () => {
    if (socket !== ws) return;
    state.textContent = "in channel " + name;
    addLine("joined " + name, "status");
    setOpen(true);
    messageInput.focus();
  };
  ws.onmessage = (e) => {
    if (socket !== ws) return;
    if (typeof e.data === "string") addLine(e.data);
    else addLine("[binary, " + e.data.byteLength + " bytes]");
  };
  ws.onclose = (e) => {
    if (socket !== ws) return;
    state.textContent = "closed (" + e.code + (e.reason ? " " + e.reason : "") + ")";
    addLine("left " + name, "status");
    setOpen(false);
    socket = null;
  };
});

document.getElementById("send").addEventListener("submit", (event) => {
  event.preventDefault();
  if (socket && socket.readyState === WebSocket.OPEN && messageInput.value !== "") {
    socket.send(messageInput.value);
    messageInput.value = "";
  }
});
</script>
</body>
</html>
)html";
}

}  // namespace ws::examples
