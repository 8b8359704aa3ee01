// permessage-deflate (RFC 7692) between the Node.js `ws` package and ws's
// tools, with perMessageDeflate parameter variants: with and without context
// takeover and with small windows (9 and 10 bits), in both roles.
//
// usage:
//   node node_deflate.mjs servers IO WS_ECHO
//       `ws` clients with each variant against `ws-echo --deflate --io IO`.
//   node node_deflate.mjs client WS_CLIENT
//       a `ws` server with each variant for `ws-client --deflate`.
// Prints one line per check and 'N passed, M failed'; exits 1 on any failure.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { createInterface } from "node:readline";

let WebSocket;
let WebSocketServer;
try {
  ({ WebSocket, WebSocketServer } = await import("ws"));
} catch (error) {
  console.error(
    "node_deflate: the npm package `ws` is missing (" + error.message + ").\n" +
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

// Prose-like text of about `bytes` bytes with 2- to 4-byte characters.
function proseText(bytes, seed = 1) {
  const words = ["the", "quick", "brown", "fox", "jumps", "über", "façade", "κόσμε", "世界", "😀",
                 "over", "a", "lazy", "dog", "again", "and", "again"];
  let state = seed;
  const out = [];
  let size = 0;
  while (size < bytes) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const word = words[state % words.length] + " ";
    out.push(word);
    size += Buffer.byteLength(word);
  }
  return out.join("");
}

// The parameter variants, as perMessageDeflate options of a ws client or server.
const VARIANTS = {
  "defaults": {},
  "no context takeover": { serverNoContextTakeover: true, clientNoContextTakeover: true },
  "server no context takeover": { serverNoContextTakeover: true },
  "client no context takeover": { clientNoContextTakeover: true },
  "windows of 9 bits": { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
  "windows of 10 bits": { serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
  "windows of 9 and 10 bits, no context takeover": {
    serverMaxWindowBits: 9, clientMaxWindowBits: 10,
    serverNoContextTakeover: true, clientNoContextTakeover: true,
  },
  "server window of 10 bits, client window of 15 bits": { serverMaxWindowBits: 10, clientMaxWindowBits: 15 },
};

// Messages that compress well and badly, small and large, repeated (to use
// context takeover) and spread over more than a small window.
function workload() {
  const block = randomBytes(3000);
  return [
    "", "x", "Hello", "Hello", proseText(5000), proseText(5000),
    randomBytes(1000), Buffer.concat([block, block, block]), Buffer.alloc(300000, 7),
    proseText(1 << 20, 7), randomBytes(65536),
  ];
}

const same = (message, item) =>
  typeof item === "string"
    ? !message.isBinary && message.data.toString("utf8") === item
    : message.isBinary && message.data.equals(item);

// ---- ws as a client of ws-echo --deflate ---------------------------------------------

function startEcho(binary, io) {
  const child = spawn(binary, ["--port", "0", "--io", io, "--deflate"], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const line = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (text) => resolve(text.trim()));
    child.once("exit", (code) => reject(new Error(`ws-echo exited with ${code} before it was ready`)));
  });
  return withTimeout(line, 10000, "ws-echo to print its address").then((text) => ({
    child, exited, url: "ws://" + text.replace("listening on ", "") + "/",
  }));
}

function openClient(url, perMessageDeflate) {
  return withTimeout(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate, maxPayload: 64 << 20 });
    let agreed = "";
    // The response's Sec-WebSocket-Extensions (ws.extensions names the
    // extension only, without its parameters).
    ws.once("upgrade", (response) => (agreed = response.headers["sec-websocket-extensions"] ?? ""));
    const messages = [];
    let wake = null;
    ws.on("message", (data, isBinary) => {
      messages.push({ data: Buffer.from(data), isBinary });
      if (wake) wake();
    });
    const closed = new Promise((done) => ws.once("close", (code) => done(code)));
    const take = (count) => withTimeout(new Promise((done) => {
      const test = () => (messages.length >= count ? done(messages.splice(0, count)) : (wake = test));
      test();
    }), 30000, `${count} echoes`);
    ws.once("open", () => resolve({ ws, take, closed, agreed }));
    ws.once("error", reject);
  }), 10000, `opening ${url}`);
}

async function echoVariant(url, name, options) {
  const client = await openClient(url, { threshold: 0, ...options });
  const agreed = client.agreed;
  check(`${name}: ws-echo agrees ('${agreed}')`, /^permessage-deflate/.test(agreed), agreed);
  if (options.serverNoContextTakeover) {
    check(`${name}: the answer has server_no_context_takeover`, /server_no_context_takeover/.test(agreed), agreed);
  }
  if (options.serverMaxWindowBits) {
    check(`${name}: the answer limits the server's window to ${options.serverMaxWindowBits} bits`,
          agreed.includes(`server_max_window_bits=${options.serverMaxWindowBits}`), agreed);
  }
  const items = workload();
  for (const item of items) client.ws.send(item);
  const back = await client.take(items.length);
  const bad = back.findIndex((message, i) => !same(message, items[i]));
  check(`${name}: ${items.length} messages (0 B to 1 MiB) echoed in order`, bad < 0,
        `message ${bad} differs`);
  // Fragments (ws compresses each fragment as it goes).
  client.ws.send("compressed ", { fin: false });
  client.ws.send("in ", { fin: false });
  client.ws.send("fragments", { fin: true });
  const [joined] = await client.take(1);
  check(`${name}: a fragmented compressed message echoed whole`, same(joined, "compressed in fragments"));
  const many = Array.from({ length: 300 }, (_, i) => proseText(50 + (i * 37) % 400, i));
  for (const item of many) client.ws.send(item);
  const manyBack = await client.take(many.length);
  check(`${name}: 300 small messages back to back echoed`, manyBack.every((m, i) => same(m, many[i])));
  client.ws.close(1000);
  const code = await withTimeout(client.closed, 10000, "the close handshake");
  check(`${name}: close 1000 answered`, code === 1000, code);
}

async function servers(io, echoBinary) {
  const echo = await startEcho(echoBinary, io);
  try {
    for (const [name, options] of Object.entries(VARIANTS)) await echoVariant(echo.url, name, options);
    // RFC 7692 7.1.2.1 and docs/compression.md: zlib cannot compress with an
    // 8-bit window, so ws-echo declines server_max_window_bits=8.
    const declined = await openClient(echo.url, { serverMaxWindowBits: 8 });
    check("server_max_window_bits=8: ws-echo declines, the connection runs uncompressed",
          declined.agreed === "", declined.agreed);
    declined.ws.send("plain");
    const [plain] = await declined.take(1);
    check("server_max_window_bits=8: the echo still works", same(plain, "plain"));
    declined.ws.close(1000);
    await withTimeout(declined.closed, 10000, "the close handshake");
  } finally {
    echo.child.kill("SIGTERM");
    const status = await withTimeout(echo.exited, 15000, "ws-echo to exit");
    check("ws-echo exits 0 on SIGTERM", status.code === 0, status);
  }
}

// ---- a ws server for ws-client --deflate ---------------------------------------------

async function clientVariant(clientBinary, name, options) {
  const web = http.createServer();
  const wss = new WebSocketServer({ server: web, perMessageDeflate: { threshold: 0, ...options } });
  await new Promise((resolve) => web.listen(0, "127.0.0.1", resolve));
  let agreed = null;
  const received = [];
  // The response's Sec-WebSocket-Extensions line, with its parameters.
  wss.on("headers", (headers) => {
    agreed = headers.find((h) => /^sec-websocket-extensions:/i.test(h))?.replace(/^[^:]*:\s*/, "") ?? "";
  });
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      received.push(Buffer.from(data).toString());
      // Answer each line with itself and a large, repetitive variant of it,
      // both compressed by ws; ws-client prints both.
      ws.send(data, { binary: isBinary });
      ws.send(Buffer.from(data).toString().repeat(2000).slice(0, 200000) || "empty");
    });
  });
  const lines = ["short", "repeat ".repeat(2000), proseText(20000, 3), "", "Hello", "Hello"];
  const pairs = lines.flatMap((line) => [line, line.repeat(2000).slice(0, 200000) || "empty"]);
  const result = await runClientPairs(clientBinary, `ws://127.0.0.1:${web.address().port}/`, lines);
  check(`${name}: ws-client agrees ('${agreed}')`, /^permessage-deflate/.test(agreed ?? ""), agreed);
  if (options.clientMaxWindowBits) {
    check(`${name}: the answer limits ws-client's window to ${options.clientMaxWindowBits} bits`,
          (agreed ?? "").includes(`client_max_window_bits=${options.clientMaxWindowBits}`), agreed);
  }
  check(`${name}: ws's server inflates ws-client's messages`, received.join("|") === lines.join("|"),
        received.map((r) => r.length));
  check(`${name}: ws-client inflates ws's answers`, result.out.join("|") === pairs.join("|"),
        { lines: result.out.length, stderr: result.stderr });
  check(`${name}: ws-client exits 0`, result.code === 0, { code: result.code, stderr: result.stderr });
  for (const client of wss.clients) client.terminate();
  wss.close();
  await new Promise((resolve) => web.close(() => resolve()));
}

// Runs ws-client --deflate, writes `lines` one at a time and waits for the
// two answer lines each one brings; resolves with its output and exit status.
function runClientPairs(clientBinary, url, lines) {
  const child = spawn(clientBinary, ["--deflate", url], { stdio: ["pipe", "pipe", "pipe"] });
  const out = [];
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const reader = createInterface({ input: child.stdout, crlfDelay: Infinity });
  let wake = null;
  reader.on("line", (line) => {
    out.push(line);
    if (wake) wake();
  });
  const readerClosed = new Promise((resolve) => reader.once("close", resolve));
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  return (async () => {
    for (const line of lines) {
      const expected = out.length + 2;
      child.stdin.write(line + "\n");
      await withTimeout(new Promise((resolve) => {
        const test = () => (out.length >= expected ? resolve() : (wake = test));
        test();
      }), 10000, "ws-client's answer lines");
    }
    child.stdin.end();
    const code = await withTimeout(exited, 20000, "ws-client to exit");
    await withTimeout(readerClosed, 10000, "ws-client's output to end");
    return { code, out, stderr };
  })().catch((error) => {
    child.kill("SIGKILL");
    return { code: null, out, stderr: stderr + String(error) };
  });
}

async function client(clientBinary) {
  for (const [name, options] of Object.entries(VARIANTS)) await clientVariant(clientBinary, name, options);
}

// ---- main -----------------------------------------------------------------------------

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  try {
    if (mode === "servers" && args.length === 2) {
      await servers(args[0], args[1]);
    } else if (mode === "client" && args.length === 1) {
      await client(args[0]);
    } else {
      console.error("usage: node node_deflate.mjs servers IO WS_ECHO | client WS_CLIENT");
      process.exit(2);
    }
  } catch (error) {
    check("the run completed", false, error.stack ?? String(error)); // a crash is a failure
  }
  const passed = results.filter(Boolean).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(passed === results.length && results.length > 0 ? 0 : 1);
}

await main();
