/* Verify a provenance proof bundle (R-L6) in the browser, trusting only the
 * verifier key in the form. The same checks as `arcreg verify-proof`'s
 * cryptographic core (chainlog/provenance.py):
 *   1. the checkpoint is a C2SP signed note with a valid Ed25519 signature by
 *      the trusted key (chainlog/note.py, chainlog/checkpoint.py);
 *   2. every entry's leaf hash SHA-256(0x00 || canonical UTF-8) is included
 *      at its index in the checkpoint's tree (RFC 9162, the verify.go
 *      algorithm of chainlog/merkle.py);
 *   3. the entries form one lineage: lot.registered first, each later entry
 *      naming the previous one in payload.prev, ending at this certificate;
 *   4. every supplier receipt the lot cites (an input's `log` link, R-M6) is in
 *      the bundle's `upstream`, included in the checkpoint, and the entry cited.
 * SHA-256 and Ed25519 by WebCrypto (crypto.subtle); where the browser lacks
 * Ed25519, the vendored @noble/ed25519 (api/static/vendor/) checks the
 * signature. No inline script: the pages run under a Content-Security-Policy
 * of default-src 'self'. */
"use strict";

(function () {
  const encoder = new TextEncoder();

  function fail(message) {
    throw new Error(message);
  }

  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fromHex(text) {
    if (typeof text !== "string" || !/^[0-9a-f]{64}$/.test(text)) fail("a proof hash is not 64 lowercase hex digits");
    return Uint8Array.from(text.match(/../g), (h) => parseInt(h, 16));
  }

  function fromBase64(text) {
    let raw;
    try {
      raw = atob(text);
    } catch (e) {
      fail("not base64: " + text);
    }
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const LEAF = Uint8Array.of(0);
  const NODE = Uint8Array.of(1);
  const ED25519 = 0x01;

  /* Verifier key text: name+<8 hex key id>+base64(0x01 || 32-byte key). */
  async function parseVerifierKey(text) {
    const first = text.indexOf("+");
    const second = text.indexOf("+", first + 1);
    if (first <= 0 || second < 0) fail("the verifier key is not name+keyid+key");
    const name = text.slice(0, first);
    const keyId = text.slice(first + 1, second);
    const blob = fromBase64(text.slice(second + 1));
    if (!/^[0-9a-f]{8}$/.test(keyId) || blob.length !== 33 || blob[0] !== ED25519) fail("the verifier key is not an Ed25519 signed-note key");
    const publicKey = blob.slice(1);
    const id = (await sha256(concat(encoder.encode(name + "\n"), Uint8Array.of(ED25519), publicKey))).slice(0, 4);
    if (toHex(id) !== keyId) fail("the verifier key's id does not match its key");
    return { name, keyId: id, publicKey };
  }

  /* C2SP signed note: text, a blank line, then lines "— name base64(keyid || sig)". */
  function parseNote(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) fail("the checkpoint note has no signature block");
    const text = note.slice(0, split + 1);
    const block = note.slice(split + 2);
    if (!block.endsWith("\n")) fail("the checkpoint's signature block does not end with a newline");
    const signatures = block.slice(0, -1).split("\n").map((line) => {
      if (!line.startsWith("\u2014 ")) fail("malformed signature line in the checkpoint");
      const [name, b64] = line.slice(2).split(" ");
      const raw = fromBase64(b64 || "");
      if (raw.length < 5) fail("a checkpoint signature is too short");
      return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
    });
    return { text, signatures };
  }

  function parseCheckpoint(text) {
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) fail("malformed checkpoint text");
    const root = fromBase64(lines[2]);
    if (root.length !== 32) fail("the checkpoint root is not 32 bytes");
    return { origin: lines[0], size: BigInt(lines[1]), root };
  }

  // The fallback Ed25519 implementation, next to this script (api/static/vendor/).
  const FALLBACK = new URL("vendor/noble-ed25519.js", document.currentScript.src).href;

  /* Ed25519 by WebCrypto where the browser has it, else by the vendored
   * @noble/ed25519 in strict RFC 8032 mode (zip215: false), as OpenSSL checks. */
  async function ed25519Verify(publicKey, signature, message) {
    let key = null;
    try {
      key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      key = null;
    }
    if (key !== null) {
      return { ok: await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message), by: "WebCrypto" };
    }
    let noble;
    try {
      noble = await import(FALLBACK);
    } catch (e) {
      const error = new Error("this browser cannot check Ed25519 signatures; use arcreg verify-proof");
      error.unsupported = true;
      throw error;
    }
    let ok = false;
    try {
      ok = await noble.verifyAsync(signature, message, publicKey, { zip215: false });
    } catch (e) {
      ok = false;
    }
    return { ok, by: "@noble/ed25519" };
  }

  async function verifySignature(note, key) {
    if (!crypto.subtle) fail("this page is not in a secure context, so the browser offers no WebCrypto");
    const parsed = parseNote(note);
    const mine = parsed.signatures.find((s) => s.name === key.name && equal(s.keyId, key.keyId));
    if (!mine) fail("the checkpoint carries no signature by the trusted key " + key.name);
    const result = await ed25519Verify(key.publicKey, mine.signature, encoder.encode(parsed.text));
    if (!result.ok) fail("the checkpoint signature does not verify with the trusted key");
    return { checkpoint: parseCheckpoint(parsed.text), by: result.by };
  }

  function bitLength(n) {
    let bits = 0;
    while (n > 0n) {
      bits += 1;
      n >>= 1n;
    }
    return bits;
  }

  function popCount(n) {
    let count = 0;
    while (n > 0n) {
      count += Number(n & 1n);
      n >>= 1n;
    }
    return count;
  }

  /* RFC 9162 inclusion: transparency-dev verify.go (decompInclProof, chainInner, chainBorderRight). */
  async function rootFromInclusion(leafHash, index, size, proof) {
    if (index >= size) fail("entry " + index + " is outside the checkpoint's tree of size " + size);
    const inner = bitLength(index ^ (size - 1n));
    const border = popCount(index >> BigInt(inner));
    if (proof.length !== inner + border) fail("entry " + index + ": the inclusion proof has " + proof.length + " hashes, expected " + (inner + border));
    let seed = leafHash;
    for (let i = 0; i < inner; i += 1) {
      seed = ((index >> BigInt(i)) & 1n) === 0n ? await sha256(concat(NODE, seed, proof[i])) : await sha256(concat(NODE, proof[i], seed));
    }
    for (let i = inner; i < proof.length; i += 1) seed = await sha256(concat(NODE, proof[i], seed));
    return seed;
  }

  function partSerials(payload) {
    return ["moved", "retired", "remainder"].filter((k) => payload[k] && typeof payload[k] === "object").map((k) => payload[k].serial);
  }

  async function verifyBundle(bundle, vkeyText, serial) {
    const checks = [];
    const key = await parseVerifierKey(vkeyText.trim());
    const { checkpoint, by } = await verifySignature(bundle.checkpoint, key);
    checks.push("Checkpoint signature by " + key.name + " verifies (Ed25519 by " + by + "; log size " + checkpoint.size + ", " + checkpoint.origin + ").");
    if (!Array.isArray(bundle.entries) || bundle.entries.length === 0) fail("the bundle has no entries");
    let previous = null;
    let lot = null;
    for (const item of bundle.entries) {
      if (!Number.isSafeInteger(item.index) || item.index < 0 || typeof item.canonical !== "string" || !Array.isArray(item.hashes)) fail("malformed entry in the bundle");
      const leaf = await sha256(concat(LEAF, encoder.encode(item.canonical)));
      const root = await rootFromInclusion(leaf, BigInt(item.index), checkpoint.size, item.hashes.map(fromHex));
      if (!equal(root, checkpoint.root)) fail("entry " + item.index + " is not included in the signed checkpoint: the computed root " + toHex(root) + " differs");
      let entry;
      try {
        entry = JSON.parse(item.canonical);
      } catch (e) {
        fail("entry " + item.index + " is not JSON");
      }
      if (entry.index !== item.index) fail("entry " + item.index + " says it is entry " + entry.index);
      const payload = entry.payload || {};
      if (previous === null) {
        if (entry.type !== "lot.registered") fail("the lineage does not start at a base material lot");
        lot = entry;
      } else if (!payload.prev || payload.prev.index !== previous.index || payload.prev.leaf_hash !== previous.leaf) {
        fail("entry " + item.index + " does not continue the lineage from entry " + previous.index);
      }
      checks.push("Entry #" + item.index + " (" + entry.type + ") is included in the checkpoint.");
      previous = { index: item.index, leaf: toHex(leaf), payload };
    }
    const last = previous.payload;
    if (serial && !(last.serial === serial || last.parent === serial || partSerials(last).includes(serial))) {
      fail("the lineage does not end at " + serial);
    }
    checks.push("The lineage runs unbroken from the base material lot to this certificate.");
    // Upstream (R-M6): every receipt the lot cites is in the bundle, included in the checkpoint, and is the entry cited.
    const upstream = Array.isArray(bundle.upstream) ? bundle.upstream : [];
    const inputs = Array.isArray(lot.payload.inputs) ? lot.payload.inputs : [];
    for (const input of inputs) {
      if (!input || typeof input !== "object" || !input.log) continue;
      const item = upstream.find((u) => u && u.index === input.log.index);
      if (!item || typeof item.canonical !== "string" || !Array.isArray(item.hashes)) fail("the lot cites entry " + input.log.index + " (a supplier receipt); the bundle does not hold it");
      const leaf = await sha256(concat(LEAF, encoder.encode(item.canonical)));
      if (toHex(leaf) !== input.log.leaf_hash) fail("entry " + item.index + " is not the receipt the lot cites");
      const root = await rootFromInclusion(leaf, BigInt(item.index), checkpoint.size, item.hashes.map(fromHex));
      if (!equal(root, checkpoint.root)) fail("receipt entry " + item.index + " is not included in the signed checkpoint");
      checks.push("Input receipt " + (input.reference || "") + " from " + (input.supplier_name || "a supplier") + " (entry #" + item.index + ") is included in the checkpoint and is the one the lot cites.");
    }
    return checks;
  }

  function show(result, state, heading, lines) {
    result.dataset.state = state;
    result.replaceChildren();
    const title = document.createElement("p");
    title.className = "verdict";
    title.textContent = heading;
    result.append(title);
    if (lines.length) {
      const list = document.createElement("ul");
      for (const line of lines) {
        const li = document.createElement("li");
        li.textContent = line;
        list.append(li);
      }
      result.append(list);
    }
  }

  function setUp(form) {
    const result = document.getElementById("verify-result");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(result, "running", "Verifying…", []);
      try {
        const response = await fetch(form.dataset.proofUrl, { cache: "no-store" });
        if (!response.ok) fail("could not fetch the proof bundle (HTTP " + response.status + ")");
        const bundle = await response.json();
        const checks = await verifyBundle(bundle, form.elements.vkey.value, form.dataset.serial);
        show(result, "pass", "Verified: every check passed.", checks);
      } catch (error) {
        show(result, error.unsupported ? "unsupported" : "fail", "Verification failed: " + error.message, []);
      }
    });
  }

  document.querySelectorAll("form.verify-form").forEach(setUp);
  document.querySelectorAll("button[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });
})();
