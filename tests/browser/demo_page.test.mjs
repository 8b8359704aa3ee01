// ws-demo's page in headless Chromium: two pages in one channel see each
// other's messages, a page in another channel does not, and a screenshot is
// saved as an artifact.
//
// usage: node --test demo_page.test.mjs   with WS_DEMO (the binary),
//        WS_DEMO_IO (threads|epoll|asio) and WS_ARTIFACTS (a folder) set.
//        WS_DEMO_TLS=1: the page over https and the sockets over wss://,
//        with a certificate made now that Chromium trusts by its public key
//        (--ignore-certificate-errors-spki-list pins exactly that key; any
//        other certificate is still refused).
//        WS_DEMO_HTTP2=1 (with TLS): ws-demo --http2; the page comes over
//        HTTP/2 and the test checks, from the server's per-stream log, that
//        the page's WebSockets were extended CONNECTs (RFC 8441) on the
//        very connection that served the page: Chromium falls back to
//        HTTP/1.1 without a word, so an open socket proves nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const demo = process.env.WS_DEMO;
const io = process.env.WS_DEMO_IO ?? "epoll";
const artifacts = process.env.WS_ARTIFACTS ?? ".";
const http2 = process.env.WS_DEMO_HTTP2 === "1";
const tls = process.env.WS_DEMO_TLS === "1" || http2;

// A certificate for 127.0.0.1 and the base64 SHA-256 of its public key.
function makeCertificate() {
  const folder = mkdtempSync(joinPath(tmpdir(), "ws-demo-tls-"));
  const cert = joinPath(folder, "cert.pem");
  const key = joinPath(folder, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const publicKey = execFileSync("openssl", ["x509", "-in", cert, "-pubkey", "-noout"]);
  const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: publicKey });
  const spki = execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: der }).toString("base64");
  return { cert, key, spki };
}
const certificate = tls ? makeCertificate() : null;

function startDemo() {
  const args = ["--port", "0", "--io", io];
  if (certificate) args.push("--tls", certificate.cert, certificate.key);
  if (http2) args.push("--http2");
  const child = spawn(demo, args, { stdio: ["ignore", "pipe", "inherit"] });
  // After the URL: "http2: connection=N stream=S method=M protocol=P path=/..."
  const streams = [];
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const seen = /^http2: connection=(\d+) stream=(\d+) method=(\S*) protocol=(\S*) path=(\S*)$/.exec(line);
      if (seen) {
        streams.push({ connection: Number(seen[1]), stream: Number(seen[2]), method: seen[3],
                       protocol: seen[4], path: seen[5] });
      } else if (streams.length === 0) {
        resolve({ child, url: line.trim(), streams });
      }
    });
    child.once("exit", (code) => reject(new Error(`ws-demo exited with ${code}`)));
  });
}

async function join(page, url, channel) {
  await page.goto(url);
  await page.fill("#channel", channel);
  await page.click("#join-button");
  await page.waitForFunction(
    (name) => document.getElementById("state").textContent === "in channel " + name, channel);
}

async function say(page, text) {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
}

const logOf = (page) => page.textContent("#log");

const label = `${io}${tls ? "-tls" : ""}${http2 ? "-http2" : ""}`;

// The page opens two WebSockets to /echo itself and each echoes.
async function twoEchoSockets(page) {
  return page.evaluate(async () => {
    const url = location.origin.replace(/^http/, "ws") + "/echo";
    const echo = (socket, text) => new Promise((resolve, reject) => {
      socket.onopen = () => socket.send(text);
      socket.onmessage = (event) => { resolve(event.data); socket.close(1000); };
      socket.onerror = () => reject(new Error("WebSocket error"));
    });
    return Promise.all([echo(new WebSocket(url), "first"), echo(new WebSocket(url), "second")]);
  });
}

test(`ws-demo page in Chromium (--io ${io}${tls ? " --tls" : ""}${http2 ? " --http2" : ""})`,
     { timeout: 60000 }, async () => {
  assert.ok(demo, "WS_DEMO must name the ws-demo binary");
  const { child, url, streams } = await startDemo();
  assert.match(url, tls ? /^https:\/\/127\.0\.0\.1:\d+\/$/ : /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           ...(certificate ? [`--ignore-certificate-errors-spki-list=${certificate.spki}`] : [])],
  });
  try {
    const context = await browser.newContext();
    const [ann, bob, hub] = await Promise.all([context.newPage(), context.newPage(), context.newPage()]);
    await join(ann, url, "meeting");
    await join(bob, url, "meeting");
    await join(hub, url, "hub");

    await say(ann, "hello from ann");
    await say(bob, "hi ann, bob here");
    await say(hub, "hub reading 17");
    for (const page of [ann, bob]) {
      await page.waitForFunction(() => document.getElementById("log").textContent.includes("bob here"));
      const log = await logOf(page);
      assert.ok(log.includes("hello from ann"), "meeting members see ann");
      assert.ok(log.indexOf("hello from ann") < log.indexOf("hi ann, bob here"), "in order");
      assert.ok(!log.includes("hub reading 17"), "the meeting does not hear the hub");
    }
    await hub.waitForFunction(() => document.getElementById("log").textContent.includes("hub reading 17"));
    const hubLog = await logOf(hub);
    assert.ok(!hubLog.includes("hello from ann"), "the hub does not hear the meeting");

    mkdirSync(artifacts, { recursive: true });
    if (tls) {
      // The page and its sockets really went over TLS.
      assert.equal(await ann.evaluate(() => location.protocol), "https:");
    }
    if (http2) {
      assert.deepEqual(await twoEchoSockets(ann), ["first", "second"]);
      // The connection that served ann's page carried her WebSockets too.
      const page = streams.find((s) => s.method === "GET" && s.path === "/");
      assert.ok(page, `the page came over HTTP/2 (streams seen: ${JSON.stringify(streams)})`);
      const onPageConnection = streams.filter((s) => s.connection === page.connection);
      const echoes = onPageConnection.filter(
        (s) => s.method === "CONNECT" && s.protocol === "websocket" && s.path === "/echo");
      assert.equal(echoes.length, 2, `two extended CONNECTs to /echo on connection ${page.connection}: ${JSON.stringify(streams)}`);
      assert.ok(onPageConnection.some((s) => s.method === "CONNECT" && s.path.startsWith("/channel/")),
                "the channel's WebSocket too");
    }
    await ann.screenshot({ path: `${artifacts}/demo-page-${label}.png`, fullPage: true });
  } finally {
    await browser.close();
    child.kill("SIGTERM");
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 0, "ws-demo exits 0 on SIGTERM");
  }
});
