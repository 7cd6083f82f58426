// Drive the bakedavatar web viewer (web/, served with a bundle by bakedavatar.export.make_server) in headless
// Chromium: render given frames with given cameras, read their pixels, check the JavaScript per-frame maths,
// play a sequence, measure the uncapped frame rate, save a screenshot. Prints a JSON report on stdout:
//   {ok, renders[{file, width, height}], uniforms[{...}], playback{before, after, playing}, benchmark{fps, ...},
//    testMode{renderDone, file}, consoleErrors[], pageErrors[], screenshot}
// Usage: node web_viewer.mjs URL JOBS.json OUT_DIR [TIMEOUT_SECONDS]
//   URL       the server's root, e.g. http://127.0.0.1:8000/
//   JOBS.json {renders: [{sequence, frame, camera} | {expression, pose, camera}], uniforms: [{expression, pose}],
//              testMode: {sequence, frame, camera} (optional), playSeconds: 1.5 (optional),
//              benchmark: {frames (most), budgetMs, width, height} (optional: canvas size of the interactive page)}
// Each render's pixels go to OUT_DIR/render_<i>.rgba (raw RGBA8, rows top to bottom).
// Launch flags: shared/ENVIRONMENT.md (Debian Chromium, software WebGL2 through SwiftShader).
import { chromium } from "playwright-core";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [url, jobsPath, outDir, timeoutArg] = process.argv.slice(2);
if (!url || !jobsPath || !outDir) {
  console.error("usage: node web_viewer.mjs URL JOBS.json OUT_DIR [TIMEOUT_SECONDS]");
  process.exit(2);
}
const jobs = JSON.parse(readFileSync(jobsPath, "utf8"));
const deadline = Date.now() + 1000 * Number(timeoutArg || 90);
const left = () => Math.max(1000, deadline - Date.now());
const log = (msg) => console.error(`[web_viewer ${new Date().toISOString()}] ${msg}`);
const FLAGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS, headless: true });
const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
const report = { ok: false, renders: [], uniforms: [], consoleErrors: [], pageErrors: [] };
page.on("pageerror", (e) => report.pageErrors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error") report.consoleErrors.push(m.text()); });
const ready = async () => {
  await page.waitForFunction(() => window.renderDone === true || window.renderError, null,
    { timeout: left(), polling: 100 });
  const err = await page.evaluate(() => window.renderError || null);
  if (err) throw new Error(`viewer: ${err}`);
};
let code = 0;
try {
  // 1. the URL-driven deterministic mode (renders once, sets window.renderDone), then the hooks on that page
  const tm = jobs.testMode || { sequence: 0, frame: 0 };
  const q = new URLSearchParams({ frame: String(tm.frame), sequence: String(tm.sequence) });
  if (tm.camera) q.set("camera", JSON.stringify(tm.camera));
  log("test mode");
  await page.goto(`${url}?${q}`, { timeout: left() });
  await ready();
  if (jobs.testMode) {
    const px = await page.evaluate(() => window.bakedavatar.readPixels());
    const file = join(outDir, "test_mode.rgba");
    writeFileSync(file, Buffer.from(px.rgba, "base64"));
    report.testMode = { renderDone: true, file, width: px.width, height: px.height };
  }
  for (const [i, job] of (jobs.renders || []).entries()) {
    const px = await page.evaluate((j) => (j.expression ? window.bakedavatar.render(j) : window.bakedavatar.renderFrame(j)), job);
    const file = join(outDir, `render_${i}.rgba`);
    writeFileSync(file, Buffer.from(px.rgba, "base64"));
    report.renders.push({ file, width: px.width, height: px.height });
  }
  for (const u of jobs.uniforms || []) {
    report.uniforms.push(await page.evaluate((j) => window.bakedavatar.frameUniforms(j.expression, j.pose), u));
  }
  // 2. the interactive viewer (canvas size fixed by ?size=WxH when given): play, pause, measure, screenshot
  const b = jobs.benchmark || {};
  log("interactive viewer");
  await page.goto(b.width ? `${url}?size=${b.width}x${b.height}` : url, { timeout: left() });
  await ready();
  await page.waitForFunction(() => window.bakedavatar.state().benchmark !== null, null,
    { timeout: left(), polling: 200 });  // the viewer measures once by itself after loading
  log("playback");
  await page.click("#sequences button", { timeout: left() });  // the first sequence: selects and plays it
  const before = await page.evaluate(() => window.bakedavatar.state());
  await page.waitForTimeout(1000 * (jobs.playSeconds || 1.5));
  const after = await page.evaluate(() => window.bakedavatar.state());
  report.playback = { before, after, label: await page.textContent("#frame-label") };
  await page.click("#play", { timeout: left() });  // pause: a steady benchmark and screenshot
  log("benchmark");
  report.benchmark = await page.evaluate(([n, ms]) => window.bakedavatar.benchmark(n, ms), [b.frames || 120, b.budgetMs || 1000]);
  report.benchmark.readout = await page.textContent("#fps");
  report.screenshot = join(outDir, "viewer.png");
  await page.screenshot({ path: report.screenshot });
  report.ok = true;
  console.log(JSON.stringify(report));
} catch (e) {
  log(`failed: ${e.message}`);
  report.error = String(e.message || e);
  report.screenshot = join(outDir, "viewer_failed.png");
  await page.screenshot({ path: report.screenshot }).catch(() => {});
  console.log(JSON.stringify(report));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
