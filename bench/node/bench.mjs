// Node baseline for the webhook hot path: @octokit/webhooks verify + JSON.parse (what a Probot
// app does per event). Prints one JSON line per payload with the median in microseconds.
import { Webhooks } from "@octokit/webhooks";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";

const secret = "benchmark-webhook-secret";
const webhooks = new Webhooks({ secret });
const files = process.argv.slice(2);

for (const file of files) {
  const body = readFileSync(file, "utf8");
  const signature = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
  const once = async () => {
    const ok = await webhooks.verify(body, signature);
    if (!ok) throw new Error("signature did not verify");
    return JSON.parse(body);
  };
  for (let i = 0; i < 5000; i++) await once(); // warm up the JIT
  const batches = [];
  const perBatch = 200;
  for (let b = 0; b < 200; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) await once();
    batches.push(Number(process.hrtime.bigint() - t0) / perBatch / 1000);
  }
  batches.sort((a, b) => a - b);
  const median = batches[Math.floor(batches.length / 2)];
  console.log(JSON.stringify({ file: file.split("/").pop(), bytes: Buffer.byteLength(body), median_us: median }));
}
