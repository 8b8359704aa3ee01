// ws-client --http2 against Node.js's own HTTP/2 server (node:http2, with
// settings.enableConnectProtocol, RFC 8441): the WebSocket opens as an
// extended CONNECT on a stream and its frames travel as the stream's DATA.
// The server side here parses and echoes WebSocket frames itself (RFC 6455
// 5.2), so every byte ws-client sends is checked by a peer that is not ws.
//
// usage: node node_http2.mjs WS_CLIENT
// Prints one line per check and exits 1 on any failure.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";

const client = process.argv[2];
let failures = 0;
function check(ok, name, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
  if (!ok) failures++;
}

// ---- WebSocket frames (RFC 6455 5.2), server side ----------------------------

// Takes complete frames off the front of `buffer`; returns [frames, rest].
function parseFrames(buffer) {
  const frames = [];
  let at = 0;
  while (buffer.length - at >= 2) {
    const first = buffer[at];
    const second = buffer[at + 1];
    let length = second & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length - offset < 2) break;
      length = buffer.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (buffer.length - offset < 8) break;
      length = Number(buffer.readBigUInt64BE(offset));
      offset += 8;
    }
    const masked = (second & 0x80) !== 0;
    if (masked && buffer.length - offset < 4) break;
    const mask = masked ? buffer.subarray(offset, offset + 4) : null;
    if (masked) offset += 4;
    if (buffer.length - offset < length) break;
    const payload = Buffer.from(buffer.subarray(offset, offset + length));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
    frames.push({ fin: (first & 0x80) !== 0, opcode: first & 0x0f, masked, payload });
    at = offset + length;
  }
  return [frames, buffer.subarray(at)];
}

function serverFrame(opcode, payload) {
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length])
    : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}

// ---- The server ------------------------------------------------------------------

// Serves extended CONNECTs as echoing WebSockets; records what it saw.
function startServer({ tls, enableConnectProtocol = true, refuse = 0 }) {
  const seen = { sessions: 0, connects: [], unmasked: 0 };
  const options = { settings: { enableConnectProtocol } };
  let server;
  if (tls) {
    server = http2.createSecureServer({ ...options, key: readFileSync(tls.key), cert: readFileSync(tls.cert) });
  } else {
    server = http2.createServer(options);
  }
  server.on("session", () => seen.sessions++);
  server.on("stream", (stream, headers) => {
    if (headers[":method"] !== "CONNECT") {
      stream.respond({ ":status": 404 });
      stream.end();
      return;
    }
    seen.connects.push(headers);
    if (refuse) {
      stream.respond({ ":status": refuse, "content-type": "text/plain" });
      stream.end("go away\n");
      return;
    }
    const answer = { ":status": 200 };
    const offered = (headers["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim());
    if (offered.includes("chat")) answer["sec-websocket-protocol"] = "chat";
    stream.respond(answer);
    let pending = Buffer.alloc(0);
    stream.on("data", (chunk) => {
      let frames;
      [frames, pending] = parseFrames(Buffer.concat([pending, chunk]));
      for (const frame of frames) {
        if (!frame.masked) seen.unmasked++;
        if (frame.opcode === 1 || frame.opcode === 2) stream.write(serverFrame(frame.opcode, frame.payload));
        if (frame.opcode === 9) stream.write(serverFrame(10, frame.payload));
        if (frame.opcode === 8) {
          stream.end(serverFrame(8, frame.payload.subarray(0, 2)));  // RFC 6455 5.5.1: echo the code
        }
      }
    });
    stream.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, seen, port: server.address().port })));
}

function runClient(args, input) {
  return new Promise((resolve) => {
    const child = spawn(client, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function makeCertificate() {
  const folder = mkdtempSync(join(tmpdir(), "ws-node-h2-"));
  const cert = join(folder, "cert.pem");
  const key = join(folder, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  return { cert, key };
}

async function echoes(label, tls) {
  const { server, seen, port } = await startServer({ tls });
  const url = `${tls ? "wss" : "ws"}://127.0.0.1:${port}/echo?room=1`;
  const args = ["--http2", "--subprotocol", "chat", url];
  if (tls) args.unshift("--ca", tls.cert);
  const result = await runClient(args, "first line\nsecond line\n");
  check(result.code === 0, `${label}: ws-client exits 0`, result.stderr.trim());
  check(result.stdout === "first line\nsecond line\n", `${label}: both lines echoed`, JSON.stringify(result.stdout));
  check(seen.sessions === 1 && seen.connects.length === 1, `${label}: one HTTP/2 session, one extended CONNECT`,
        `${seen.sessions} sessions, ${seen.connects.length} CONNECTs`);
  const h = seen.connects[0] ?? {};
  check(h[":protocol"] === "websocket", `${label}: :protocol websocket (RFC 8441 4)`);
  check(h[":scheme"] === (tls ? "https" : "http"), `${label}: :scheme ${tls ? "https" : "http"}`);
  check(h[":path"] === "/echo?room=1" && h[":authority"] === `127.0.0.1:${port}`, `${label}: :path and :authority`,
        `${h[":path"]} ${h[":authority"]}`);
  check(h["sec-websocket-version"] === "13", `${label}: sec-websocket-version 13`);
  check(h["sec-websocket-key"] === undefined, `${label}: no sec-websocket-key (RFC 8441 5)`);
  check(h["sec-websocket-protocol"] === "chat", `${label}: the subprotocol offered`);
  check(seen.unmasked === 0, `${label}: every client frame masked (RFC 6455 5.3)`);
  server.close();
}

async function refusals() {
  {
    const { server, port } = await startServer({ tls: null, enableConnectProtocol: false });
    const result = await runClient(["--http2", `ws://127.0.0.1:${port}/echo`], "x\n");
    check(result.code === 1 && /no WebSockets over HTTP\/2/.test(result.stderr),
          "a server without SETTINGS_ENABLE_CONNECT_PROTOCOL: exit 1, said why", result.stderr.trim());
    server.close();
  }
  {
    const { server, port } = await startServer({ tls: null, refuse: 403 });
    const result = await runClient(["--http2", `ws://127.0.0.1:${port}/echo`], "x\n");
    check(result.code === 1 && /403/.test(result.stderr), "a 403 answer: exit 1 with the status",
          result.stderr.trim());
    server.close();
  }
}

try {
  await echoes("h2c", null);
  await echoes("h2 over TLS", makeCertificate());
  await refusals();
} catch (error) {
  check(false, "no exception", String(error?.stack ?? error));
}
console.log(failures === 0 ? "all passed" : `${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
