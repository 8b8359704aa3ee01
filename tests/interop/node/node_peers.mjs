// Interoperability with the Node.js `ws` package (pinned by package-lock.json
// next to this file; `npm ci` here installs it, scripts/test does that).
//
// usage:
//   node node_peers.mjs servers IO WS_ECHO WS_DEMO
//       `ws` as a client of ws-echo and ws-demo started with --io IO:
//       message sizes, text and binary, fragmented sends, ping/pong, close
//       codes, limits, --fragment and --deflate (when ws-echo has them), the
//       demo's channels, /echo, refusals and SIGTERM.
//   node node_peers.mjs client WS_CLIENT
//       `ws` as a server (ws:// and wss://) for ws-client: stdin lines out,
//       messages printed, exit status for each way a connection can end,
//       --deflate (when ws-client has it).
// Prints one line per check and 'N passed, M failed'; exits 1 on any failure.
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

let WebSocket;
let WebSocketServer;
try {
  ({ WebSocket, WebSocketServer } = await import("ws"));
} catch (error) {
  console.error(
    "node_peers: the npm package `ws` is missing (" + error.message + ").\n" +
      "Run `npm ci` in tests/interop/node (scripts/test does it).");
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const results = [];

function check(name, condition, detail = "") {
  results.push(Boolean(condition));
  const shown = typeof detail === "string" ? detail : JSON.stringify(detail);
  console.log((condition ? "ok   " : "FAIL ") + name + (condition ? "" : `: ${shown}`.slice(0, 400)));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Text of exactly `bytes` UTF-8 bytes, with 1- to 4-byte characters.
function makeText(bytes) {
  const unit = "aé✓𝄞"; // 1 + 2 + 3 + 4 bytes
  return unit.repeat(Math.floor(bytes / 10)) + "z".repeat(bytes % 10);
}

// ---- Processes ---------------------------------------------------------------

// Starts a server binary and resolves with the process and its first stdout line.
function startServer(binary, args) {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const firstLine = new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => resolve(line.trim()));
    child.once("exit", (code) => reject(new Error(`${binary} exited with ${code} before it was ready`)));
  });
  return withTimeout(firstLine, 10000, `${binary} to print its address`).then((line) => ({
    child,
    line,
    exited,
  }));
}

// Stops a server with SIGTERM and resolves with its exit status.
async function stopServer(server) {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGTERM");
  try {
    return await withTimeout(server.exited, 15000, "the server to exit after SIGTERM");
  } catch (error) {
    server.child.kill("SIGKILL");
    return { code: null, signal: "timeout" };
  }
}

// ---- A ws client with a message queue ------------------------------------------

class Peer {
  constructor(ws) {
    this.ws = ws;
    this.messages = [];
    this.waiting = [];
    this.pongs = [];
    this.closed = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of this.waiting.splice(0)) wake();
      });
    });
    ws.on("message", (data, isBinary) => {
      this.messages.push({ data: Buffer.from(data), isBinary });
      for (const wake of this.waiting.splice(0)) wake();
    });
    ws.on("pong", (data) => {
      this.pongs.push(Buffer.from(data));
      for (const wake of this.waiting.splice(0)) wake();
    });
    ws.on("error", () => {}); // reported through 'close'
  }

  static open(url, options = {}) {
    return withTimeout(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
        ws.once("open", () => resolve(new Peer(ws)));
        ws.once("unexpected-response", (request, response) => {
          const error = new Error(`unexpected response ${response.statusCode}`);
          error.statusCode = response.statusCode;
          request.destroy();
          reject(error);
        });
        ws.once("error", reject);
      }),
      10000,
      `opening ${url}`);
  }

  // Resolves once `predicate()` holds, re-checked on every message, pong or close.
  until(predicate, ms, what) {
    return withTimeout(
      new Promise((resolve) => {
        const test = () => {
          if (predicate()) resolve();
          else this.waiting.push(test);
        };
        test();
      }),
      ms,
      what);
  }

  async next(ms = 10000) {
    await this.until(() => this.messages.length > 0 || this.ws.readyState === WebSocket.CLOSED, ms,
                     "a message");
    if (this.messages.length === 0) throw new Error("closed while waiting for a message");
    return this.messages.shift();
  }

  async take(count, ms = 10000) {
    await this.until(() => this.messages.length >= count || this.ws.readyState === WebSocket.CLOSED,
                     ms, `${count} messages`);
    return this.messages.splice(0, count);
  }

  send(data, options = {}) {
    return new Promise((resolve, reject) =>
      this.ws.send(data, options, (error) => (error ? reject(error) : resolve())));
  }

  async close(code, reason) {
    this.ws.close(code, reason);
    return withTimeout(this.closed, 10000, "the close handshake");
  }
}

const sameText = (message, text) => !message.isBinary && message.data.toString("utf8") === text;
const sameBinary = (message, bytes) => message.isBinary && message.data.equals(bytes);

// ---- ws as a client of ws-echo ------------------------------------------------------

async function echoSizes(url) {
  const peer = await Peer.open(url + "echo", { maxPayload: 64 * 1024 * 1024 });
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20]) {
    const bytes = randomBytes(size);
    await peer.send(bytes);
    check(`binary ${size} bytes echoed as binary`, sameBinary(await peer.next(), bytes));
    const text = makeText(size);
    await peer.send(text);
    check(`text ${size} bytes echoed as text`, sameText(await peer.next(), text));
  }
  const largest = randomBytes(16 * 1024 * 1024); // the documented default limit
  await peer.send(largest);
  check("binary 16 MiB (the default limit) echoed", sameBinary(await peer.next(30000), largest));

  // Many messages in flight at once come back whole and in order.
  const burst = [];
  for (let i = 0; i < 300; ++i) {
    burst.push(i % 2 ? randomBytes((i * 7919) % 70000) : makeText((i * 104729) % 70000));
  }
  await Promise.all(burst.map((item) => peer.send(item)));
  const back = await peer.take(burst.length, 30000);
  check("300 pipelined messages echoed in order, kinds kept",
        back.length === burst.length &&
          back.every((m, i) => (typeof burst[i] === "string" ? sameText(m, burst[i])
                                                               : sameBinary(m, burst[i]))),
        `${back.length} back`);
  const closed = await peer.close(1000, "bye");
  check("close 1000 answered with 1000", closed.code === 1000, closed);
}

async function echoFragments(url) {
  const peer = await Peer.open(url + "echo");
  // send(data, {fin: false}) starts or continues a fragmented message.
  await peer.send("frag", { fin: false });
  await peer.send("men", { fin: false });
  await peer.send("ted", { fin: true });
  check("fragmented text (3 frames) echoed whole", sameText(await peer.next(), "fragmented"));

  const parts = Array.from({ length: 100 }, (_, i) => randomBytes(i * 37));
  for (let i = 0; i < parts.length; ++i) await peer.send(parts[i], { fin: i === parts.length - 1 });
  check("fragmented binary (100 frames) echoed whole",
        sameBinary(await peer.next(), Buffer.concat(parts)));

  // A character split across two frames (RFC 6455 8.1: UTF-8 is checked on the whole message).
  const check_mark = Buffer.from("✓ split ✓", "utf8");
  await peer.send(check_mark.subarray(0, 1), { binary: false, fin: false });
  await peer.send(check_mark.subarray(1), { binary: false, fin: true });
  check("a UTF-8 character split across fragments is accepted", sameText(await peer.next(), "✓ split ✓"));

  await peer.send(Buffer.alloc(0), { binary: true, fin: false });
  await peer.send(Buffer.from("after empty"), { binary: true, fin: false });
  await peer.send(Buffer.alloc(0), { binary: true, fin: true });
  check("empty fragments around data", sameBinary(await peer.next(), Buffer.from("after empty")));

  // RFC 6455 5.4: control frames may come between the fragments of a message.
  await peer.send("before ping ", { fin: false });
  peer.ws.ping(Buffer.from("mid-message"));
  await peer.send("after ping", { fin: true });
  const joined = await peer.next();
  await peer.until(() => peer.pongs.length > 0, 5000, "the pong");
  check("a ping between fragments is answered", peer.pongs[0].toString() === "mid-message",
        peer.pongs.map(String));
  check("the message around the ping is whole", sameText(joined, "before ping after ping"));
  const closed = await peer.close(4000, "custom reason");
  check("close 4000 with a reason answered with 4000", closed.code === 4000, closed);
}

async function echoControl(url) {
  const peer = await Peer.open(url + "echo");
  peer.ws.ping(); // empty
  peer.ws.ping(Buffer.alloc(125, 0x5a)); // the largest control payload (RFC 6455 5.5)
  await peer.until(() => peer.pongs.length >= 2, 5000, "two pongs");
  check("empty ping answered with an empty pong", peer.pongs[0].length === 0, peer.pongs[0]);
  check("125-byte ping answered with the same payload", peer.pongs[1].equals(Buffer.alloc(125, 0x5a)));
  peer.ws.pong(Buffer.from("unsolicited")); // RFC 6455 5.5.3: no answer expected
  await peer.send("still here");
  check("an unsolicited pong is ignored", sameText(await peer.next(), "still here"));
  await peer.close(1000);

  // Invalid UTF-8 in a text message: close 1007 (RFC 6455 8.1).
  const bad = await Peer.open(url + "echo");
  await bad.send(Buffer.from([0x68, 0xc3, 0x28]), { binary: false });
  const badClose = await withTimeout(bad.closed, 10000, "the 1007 close");
  check("invalid UTF-8 text is closed with 1007", badClose.code === 1007, badClose);

  // The default client offers permessage-deflate; the server may decline it.
  const offering = await Peer.open(url + "echo", { perMessageDeflate: true });
  await offering.send("offered deflate");
  check(`echo works with a permessage-deflate offer (agreed: '${offering.ws.extensions}')`,
        sameText(await offering.next(), "offered deflate"));
  await offering.close(1000);
}

async function echoLimit(echoBinary, io) {
  const server = await startServer(echoBinary, ["--port", "0", "--io", io, "--max-message", "1024"]);
  const url = "ws://" + server.line.replace("listening on ", "") + "/";
  const peer = await Peer.open(url);
  await peer.send(randomBytes(1024));
  check("--max-message 1024: 1024 bytes pass", (await peer.next()).data.length === 1024);
  await peer.send(randomBytes(1025));
  const closed = await withTimeout(peer.closed, 10000, "the 1009 close");
  check("--max-message 1024: 1025 bytes are closed with 1009", closed.code === 1009, closed);
  await stopServer(server);
}

async function echoServer(echoBinary, io) {
  const server = await startServer(echoBinary, ["--port", "0", "--io", io]);
  check(`ws-echo --io ${io} prints its address`, /^listening on 127\.0\.0\.1:\d+$/.test(server.line),
        server.line);
  const url = "ws://" + server.line.replace("listening on ", "") + "/";
  try {
    await echoSizes(url);
    await echoFragments(url);
    await echoControl(url);
    const waiting = await Peer.open(url + "echo");
    const status = await stopServer(server);
    const closed = await withTimeout(waiting.closed, 10000, "the 1001 close");
    check("SIGTERM closes an open connection with 1001", closed.code === 1001, closed);
    check("ws-echo exits 0 on SIGTERM", status.code === 0, status);
  } finally {
    await stopServer(server);
  }
  await echoLimit(echoBinary, io);
  await echoWithOptions(echoBinary, io);
}

// Whether a tool's --help lists `flag` (options other helpers add over time).
function offers(binary, flag) {
  try {
    return execFileSync(binary, ["--help"], { encoding: "utf8" }).includes(flag);
  } catch {
    return false;
  }
}

// ws-echo --fragment (echoes split into frames) and --deflate
// (permessage-deflate, RFC 7692) against ws's own reassembly and inflater.
async function echoWithOptions(echoBinary, io) {
  if (offers(echoBinary, "--fragment")) {
    const server = await startServer(echoBinary, ["--port", "0", "--io", io, "--fragment", "1000"]);
    const peer = await Peer.open("ws://" + server.line.replace("listening on ", "") + "/");
    const text = makeText(70001); // characters cut across frame boundaries
    const bytes = randomBytes(65537);
    await peer.send(text);
    await peer.send(bytes);
    check("--fragment 1000: a 70001-byte text sent back in 1000-byte frames arrives whole",
          sameText(await peer.next(), text));
    check("--fragment 1000: binary comes back whole", sameBinary(await peer.next(), bytes));
    await peer.close(1000);
    await stopServer(server);
  } else {
    console.log("skip ws-echo has no --fragment");
  }
  if (offers(echoBinary, "--deflate")) {
    const server = await startServer(echoBinary, ["--port", "0", "--io", io, "--deflate"]);
    const peer = await Peer.open("ws://" + server.line.replace("listening on ", "") + "/",
                                 { perMessageDeflate: { threshold: 0 } });
    check("--deflate: ws's permessage-deflate offer is accepted",
          /permessage-deflate/.test(peer.ws.extensions), peer.ws.extensions);
    const items = ["", "short", makeText(1 << 20), randomBytes(65536), Buffer.alloc(300000, 7)];
    for (const item of items) await peer.send(item);
    const back = await peer.take(items.length, 20000);
    check("--deflate: compressed text and binary (0 B to 1 MiB) echoed",
          back.length === items.length &&
            back.every((m, i) => (typeof items[i] === "string" ? sameText(m, items[i])
                                                                 : sameBinary(m, items[i]))),
          back.map((m) => m.data.length));
    await peer.send("compressed ", { fin: false });
    await peer.send("fragments", { fin: true });
    check("--deflate: a compressed fragmented message echoed",
          sameText(await peer.next(), "compressed fragments"));
    const closed = await peer.close(1000);
    check("--deflate: close 1000 answered", closed.code === 1000, closed);
    await stopServer(server);
  } else {
    console.log("skip ws-echo has no --deflate");
  }
}

// ---- ws as a client of ws-demo --------------------------------------------------------

function httpGet(url) {
  return withTimeout(
    new Promise((resolve, reject) => {
      http.get(url, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode, headers: response.headers, body }));
      }).on("error", reject);
    }),
    10000,
    `GET ${url}`);
}

async function refusedStatus(url) {
  try {
    const peer = await Peer.open(url);
    peer.ws.terminate();
    return "upgraded";
  } catch (error) {
    return error.statusCode ?? error.message;
  }
}

async function demoServer(demoBinary, io) {
  const server = await startServer(demoBinary, ["--port", "0", "--io", io]);
  const base = server.line;
  check(`ws-demo --io ${io} prints its page URL`, /^http:\/\/127\.0\.0\.1:\d+\/$/.test(base), base);
  const url = base.replace("http://", "ws://");
  const peers = [];
  try {
    const page = await httpGet(base);
    check("GET / is the page (HTML with a script)",
          page.status === 200 && /text\/html/.test(page.headers["content-type"]) &&
            page.body.includes("<script>"),
          page.status);

    const echo = await Peer.open(url + "echo");
    peers.push(echo);
    const bytes = randomBytes(70000);
    await echo.send(bytes);
    await echo.send(makeText(126));
    check("/echo echoes binary as binary", sameBinary(await echo.next(), bytes));
    check("/echo echoes text as text", sameText(await echo.next(), makeText(126)));

    const ann = await Peer.open(url + "channel/meeting");
    const bob = await Peer.open(url + "channel/meeting?ignored=yes");
    const hub = await Peer.open(url + "channel/hub");
    peers.push(ann, bob, hub);
    const sent = [];
    for (let i = 0; i < 50; ++i) {
      const item = i % 3 === 0 ? randomBytes(i * 1000) : `ann ${i} ✓`;
      sent.push(item);
      await ann.send(item);
    }
    // A fragmented message is published whole.
    await ann.send("frag", { fin: false });
    await ann.send("mented", { fin: true });
    sent.push("fragmented");
    await hub.send(Buffer.from([0, 1, 2]));
    const matches = (got) =>
      got.length === sent.length &&
      got.every((m, i) => (typeof sent[i] === "string" ? sameText(m, sent[i]) : sameBinary(m, sent[i])));
    check("every member gets ann's messages in order, kinds kept", matches(await bob.take(sent.length)));
    check("the sender gets its own messages too", matches(await ann.take(sent.length)));
    const hubGot = await hub.take(1);
    check("the hub hears its own binary message",
          hubGot.length === 1 && sameBinary(hubGot[0], Buffer.from([0, 1, 2])));
    await new Promise((resolve) => setTimeout(resolve, 300));
    check("channels never mix", hub.messages.length === 0 && ann.messages.length === 0 &&
                                   bob.messages.length === 0,
          [hub.messages.length, ann.messages.length, bob.messages.length]);

    for (const bad of ["channel/", "channel/bad%20name", "channel/" + "x".repeat(65), "channel/%zz",
                       "elsewhere"]) {
      const status = await refusedStatus(url + bad);
      check(`'${bad.slice(0, 20)}' is refused with ${bad === "elsewhere" ? "4xx" : 400} before any upgrade`,
            bad === "elsewhere" ? status >= 400 && status < 500 : status === 400, status);
    }
    const encoded = await Peer.open(url + "channel/a.b_c-%41");
    peers.push(encoded);
    check("a percent-encoded valid name is accepted", encoded.ws.readyState === WebSocket.OPEN);

    const status = await stopServer(server);
    const codes = await Promise.all(
      peers.map((peer) => withTimeout(peer.closed, 10000, "the 1001 close").then((c) => c.code, () => null)));
    check("SIGTERM closes every connection with 1001", codes.every((code) => code === 1001), codes);
    check("ws-demo exits 0 on SIGTERM", status.code === 0, status);
  } finally {
    for (const peer of peers) peer.ws.terminate();
    await stopServer(server);
  }
}

// ---- ws as a server for ws-client ------------------------------------------------------

// Runs ws-client with `args`, writes `input` lines (each after `answers`
// lines of output arrived when `answers` > 0), and resolves with its exit
// status, stdout lines and stderr.
function runClient(clientBinary, args, { input = [], answersPerLine = 0, keepStdinOpen = false } = {}) {
  const child = spawn(clientBinary, args, { stdio: ["pipe", "pipe", "pipe"] });
  const lines = [];
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const reader = createInterface({ input: child.stdout });
  const readerClosed = new Promise((resolve) => reader.once("close", resolve));
  let wake = null;
  reader.on("line", (line) => {
    lines.push(line);
    if (wake) wake();
  });
  child.stdin.on("error", () => {}); // the client may be gone already
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const done = (async () => {
    for (const line of input) {
      const expected = lines.length + answersPerLine;
      child.stdin.write(line + "\n");
      if (answersPerLine > 0) {
        await withTimeout(new Promise((resolve) => {
          const test = () => (lines.length >= expected ? resolve() : (wake = test));
          test();
        }), 10000, "ws-client's answer lines");
      }
    }
    if (!keepStdinOpen) child.stdin.end();
    const code = await withTimeout(exited, 20000, "ws-client to exit");
    await withTimeout(readerClosed, 10000, "ws-client's output to end");
    return { code, lines, stderr, child };
  })();
  done.catch(() => child.kill("SIGKILL"));
  return done;
}

// A ws server on 127.0.0.1 (or over TLS with `tls`); resolves with it and its URL.
function startWsServer(options = {}, tls = null) {
  return new Promise((resolve) => {
    const web = tls ? https.createServer(tls) : http.createServer();
    const wss = new WebSocketServer({ server: web, ...options });
    web.listen(0, "127.0.0.1", () => {
      const scheme = tls ? "wss" : "ws";
      const host = tls ? "localhost" : "127.0.0.1";
      resolve({ wss, web, url: `${scheme}://${host}:${web.address().port}/` });
    });
  });
}

function stopWsServer(server) {
  for (const client of server.wss.clients) client.terminate();
  server.wss.close();
  return new Promise((resolve) => server.web.close(() => resolve()));
}

async function clientExchange(clientBinary) {
  const server = await startWsServer({
    handleProtocols: (protocols) => (protocols.has("chat") ? "chat" : false),
  });
  const received = [];
  let request = null;
  let agreed = null;
  let closeSeen = null;
  let pongPayload = null;
  server.wss.on("connection", (ws, req) => {
    request = req;
    agreed = ws.protocol;
    ws.on("pong", (data) => (pongPayload = data.toString()));
    ws.ping("are you there");
    ws.on("message", (data, isBinary) => {
      received.push({ data: Buffer.from(data), isBinary });
      ws.send(data, { binary: isBinary }); // echo with its kind
      ws.send(Buffer.from([0x00, 0xff, 0x62, 0x69, 0x6e])); // and a binary message
    });
    ws.on("close", (code) => (closeSeen = code));
  });
  const longLine = makeText(200000);
  const input = ["first line", "", "héllo wörld ✓ 𝄞", longLine];
  const result = await runClient(
    clientBinary, ["--subprotocol", "chat", server.url, "--header", "X-Interop: node ws"],
    { input, answersPerLine: 2 });
  check("ws-client sends each stdin line as a text message (empty and 200 KB lines too)",
        received.length === 4 && received.every((m, i) => sameText(m, input[i])),
        received.map((m) => m.data.length));
  const expected = input.flatMap((line) => [line, "00ff62696e"]);
  check("ws-client prints text as is and binary as lowercase hex",
        result.lines.length === expected.length && result.lines.every((line, i) => line === expected[i]),
        result.lines.map((line) => line.slice(0, 30)));
  check("ws-client offers --subprotocol and the server's choice is agreed",
        request?.headers["sec-websocket-protocol"] === "chat" && agreed === "chat",
        { offered: request?.headers["sec-websocket-protocol"], agreed });
  check("ws-client sends --header", request?.headers["x-interop"] === "node ws", request?.headers);
  check("ws-client answers the server's ping", pongPayload === "are you there", pongPayload);
  await withTimeout(new Promise((resolve) => {
    const poll = () => (closeSeen !== null ? resolve() : setTimeout(poll, 10));
    poll();
  }), 5000, "the server to see the close").catch(() => {});
  check("ws-client closes with 1000 at end of input", closeSeen === 1000, closeSeen);
  check("ws-client exits 0 after its 1000 close is answered", result.code === 0, result.stderr);
  await stopWsServer(server);
}

async function clientReceives(clientBinary) {
  // Messages the server starts: sizes, empty ones, fragmented, then its close.
  const server = await startWsServer();
  const big = randomBytes(1 << 20);
  server.wss.on("connection", (ws) => {
    ws.send("");
    ws.send(Buffer.alloc(0));
    ws.send("frag", { fin: false });
    ws.send("men", { fin: false });
    ws.send("ted", { fin: true });
    ws.send(Buffer.from([1, 2]), { fin: false });
    ws.send(Buffer.from([3]), { fin: true });
    ws.send(makeText(65536));
    ws.send(big);
    ws.close(1000, "server done");
  });
  const result = await runClient(clientBinary, [server.url], { keepStdinOpen: true });
  result.child.stdin.destroy();
  const expected = ["", "", "fragmented", "010203", makeText(65536), big.toString("hex")];
  check("ws-client prints empty, fragmented and 1 MiB messages from the server",
        result.lines.length === expected.length && result.lines.every((line, i) => line === expected[i]),
        result.lines.map((line) => line.slice(0, 30)));
  check("ws-client exits 0 when the server closes with 1000", result.code === 0, result.stderr);
  await stopWsServer(server);
}

async function clientCloseCodes(clientBinary) {
  const cases = [
    { name: "the server closes with 1001", act: (ws) => ws.close(1001, "going"), exit: 0 },
    { name: "the server closes with 4000 and a reason", act: (ws) => ws.close(4000, "custom reason"),
      exit: 1, stderr: ["4000", "custom reason"] },
    { name: "the server closes with 1011", act: (ws) => ws.close(1011), exit: 1, stderr: ["1011"] },
    { name: "the server closes without a code", act: (ws) => ws.close(), exit: 1, stderr: ["1005"] },
    { name: "the server drops the connection without a close", act: (ws) => ws.terminate(), exit: 1 },
  ];
  for (const item of cases) {
    const server = await startWsServer();
    server.wss.on("connection", (ws) => setTimeout(() => item.act(ws), 50));
    const result = await runClient(clientBinary, [server.url], { keepStdinOpen: true });
    result.child.stdin.destroy();
    const said = (item.stderr ?? []).every((part) => result.stderr.includes(part));
    check(`ws-client exits ${item.exit} when ${item.name}`, result.code === item.exit && said,
          { code: result.code, stderr: result.stderr });
    await stopWsServer(server);
  }

  // A refused upgrade: exit 1 with the HTTP status on stderr.
  const refusing = await startWsServer({ verifyClient: (info, done) => done(false, 403, "Forbidden") });
  const refused = await runClient(clientBinary, [refusing.url]);
  check("ws-client exits 1 on a refused upgrade and prints the status",
        refused.code === 1 && refused.stderr.includes("403"), { code: refused.code, stderr: refused.stderr });
  await stopWsServer(refusing);

  // A server that is not a WebSocket server at all refuses the upgrade too.
  // With Content-Length: a chunked body is only ended by the server closing
  // (the handshake reads a rejection's body up to Content-Length or the end).
  const plain = http.createServer((req, res) =>
    res.writeHead(404, { "Content-Length": "17" }).end("no websocket here"));
  await new Promise((resolve) => plain.listen(0, "127.0.0.1", resolve));
  const notWs = await runClient(clientBinary, [`ws://127.0.0.1:${plain.address().port}/`]);
  check("ws-client exits 1 against a plain HTTP server and prints its 404",
        notWs.code === 1 && notWs.stderr.includes("404"), { code: notWs.code, stderr: notWs.stderr });
  await new Promise((resolve) => plain.close(resolve));
}

// ws-client --deflate against ws's permessage-deflate server.
async function clientDeflate(clientBinary) {
  if (!offers(clientBinary, "--deflate")) {
    console.log("skip ws-client has no --deflate");
    return;
  }
  const server = await startWsServer({ perMessageDeflate: { threshold: 0 } });
  let agreed = null;
  const received = [];
  server.wss.on("connection", (ws) => {
    agreed = ws.extensions;
    ws.on("message", (data, isBinary) => {
      received.push(Buffer.from(data).toString());
      ws.send(data, { binary: isBinary });
    });
  });
  const input = ["squeeze me ".repeat(5000), "", "héllo ✓"];
  const result = await runClient(clientBinary, ["--deflate", server.url],
                                 { input, answersPerLine: 1 });
  check("ws-client --deflate agrees permessage-deflate with ws",
        /permessage-deflate/.test(agreed ?? ""), agreed);
  check("ws-client --deflate: compressed lines out and back",
        result.code === 0 && received.join("|") === input.join("|") &&
          result.lines.join("|") === input.join("|"),
        { code: result.code, stderr: result.stderr, lines: result.lines.length });
  await stopWsServer(server);
}

async function clientOverTls(clientBinary) {
  const folder = mkdtempSync(join(tmpdir(), "ws-node-tls-"));
  try {
    const cert = join(folder, "cert.pem");
    const key = join(folder, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                             "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                             "subjectAltName=DNS:localhost"], { stdio: "ignore" });
    const server = await startWsServer({}, { cert: readFileSync(cert), key: readFileSync(key) });
    server.wss.on("connection", (ws) =>
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    const trusted = await runClient(clientBinary, ["--ca", cert, server.url],
                                    { input: ["over tls"], answersPerLine: 1 });
    check("ws-client --ca talks to a ws server over wss://",
          trusted.code === 0 && trusted.lines.join("|") === "over tls",
          { code: trusted.code, stderr: trusted.stderr });
    const untrusted = await runClient(clientBinary, [server.url]);
    check("ws-client refuses the ws server's untrusted certificate", untrusted.code === 1, untrusted.stderr);
    await stopWsServer(server);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

// ---- Main ---------------------------------------------------------------------------------

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  try {
    if (mode === "servers" && args.length === 3) {
      const [io, echoBinary, demoBinary] = args;
      await echoServer(echoBinary, io);
      await demoServer(demoBinary, io);
    } else if (mode === "client" && args.length === 1) {
      await clientExchange(args[0]);
      await clientReceives(args[0]);
      await clientCloseCodes(args[0]);
      await clientOverTls(args[0]);
      await clientDeflate(args[0]);
    } else {
      console.error("usage: node node_peers.mjs servers IO WS_ECHO WS_DEMO | client WS_CLIENT");
      process.exit(2);
    }
  } catch (error) {
    check("the run completed", false, error.stack ?? String(error)); // a crash is a failure, not a skip
  }
  const passed = results.filter(Boolean).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(passed === results.length && results.length > 0 ? 0 : 1);
}

await main();
