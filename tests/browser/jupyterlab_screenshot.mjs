// Open a notebook in a running JupyterLab with headless Chromium, run all cells, wait for the widgets to
// render, save a screenshot and print a JSON report on stdout:
//   {ok, cells, errors[], stderr[], pageErrors[], consoleErrors[], widgetErrors[] (views that failed: their
//    messages), canvases[{width, height, nonBackground, file}], images[{width, height}] (ipywidgets Image
//    elements, natural size), screenshot}
// nonBackground: fraction of the canvas's pixels that differ from its most frequent colour (0 = blank canvas);
// file: that canvas's own screenshot, OUT_canvasN.png beside OUT.png.
// Usage: node jupyterlab_screenshot.mjs URL NOTEBOOK OUT.png [TIMEOUT_SECONDS]
//   URL       JupyterLab base URL with its token, e.g. http://127.0.0.1:8888/lab?token=abc
//   NOTEBOOK  notebook path relative to the server's notebook directory
// Launch flags: shared/ENVIRONMENT.md (Debian Chromium, software WebGL through SwiftShader).
import { chromium } from "playwright-core";

const [url, notebook, out, timeoutArg] = process.argv.slice(2);
if (!url || !notebook || !out) {
  console.error("usage: node jupyterlab_screenshot.mjs URL NOTEBOOK OUT.png [TIMEOUT_SECONDS]");
  process.exit(2);
}
const deadline = Date.now() + 1000 * Number(timeoutArg || 90);
const left = () => Math.max(1000, deadline - Date.now());
const log = (msg) => console.error(`[jupyterlab_screenshot ${new Date().toISOString()}] ${msg}`);

const PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)";  // the notebook in front (a restored workspace may hold others)
const FLAGS = ["--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

// Fraction of a PNG's (base64) pixels that differ from its background, the most frequent colour: is anything drawn?
async function nonBackground(page, png) {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map();
    for (let i = 0; i < d.length; i += 4) {
      const key = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    const bg = [...counts.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    const [r, g, b] = [bg >> 16, (bg >> 8) & 255, bg & 255];
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) > 24) n++;
    }
    return n / (c.width * c.height);
  }, png.toString("base64"));
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS, headless: true });
const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
let code = 0;
try {
  const pageErrors = [], consoleErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text().slice(0, 2000)); });
  const target = new URL(url);
  target.pathname = "/lab/tree/" + notebook.split("/").map(encodeURIComponent).join("/");
  log(`opening ${target.pathname}`);
  await page.goto(target.toString(), { timeout: left() });
  await page.locator(`${PANEL} .jp-Cell`).first().waitFor({ timeout: left() });
  await page.locator(`${PANEL} .jp-Spinner`).waitFor({ state: "detached", timeout: left() });  // loaded
  // the kernel must be up before "Run All Cells" (otherwise JupyterLab may ask which kernel to use)
  await page.locator(`${PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']`)
    .first().waitFor({ timeout: left() }).catch(() => log("no idle kernel indicator seen; running anyway"));
  // more room for the notebook: collapse the left sidebar (clicking its open tab closes it)
  await page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").first()
    .click({ timeout: 5000 }).catch(() => log("left sidebar already closed"));
  log("running all cells");
  await page.locator(`${PANEL} .jp-Cell`).first().click();
  await page.getByRole("menuitem", { name: "Run", exact: true }).click();
  await page.getByRole("menuitem", { name: /^Run All Cells/ }).click();
  // done when every code cell shows an execution number ([3]:), none is queued ([*]:) or unrun ([ ]:)
  await page.waitForFunction((panel) => {
    const prompts = [...document.querySelectorAll(`${panel} .jp-CodeCell .jp-InputPrompt`)];
    return prompts.length > 0 && prompts.every((p) => /\[\d+\]/.test(p.textContent));
  }, PANEL, { timeout: left(), polling: 500 });
  log("cells executed; waiting for widgets");
  // widgets render asynchronously after the kernel replies: wait for the canvases and images to settle
  await page.waitForFunction((panel) => document.querySelectorAll(`${panel} .jp-OutputArea-output canvas`).length > 0,
    PANEL, { timeout: left(), polling: 500 }).catch(() => log("no canvas appeared"));
  await page.waitForTimeout(Math.min(5000, left()));

  const report = { ok: true, cells: 0, errors: [], pageErrors, consoleErrors, canvases: [], images: [], screenshot: out };
  report.cells = await page.locator(`${PANEL} .jp-CodeCell`).count();
  report.errors = await page.locator(`${PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']`)
    .allInnerTexts();
  report.stderr = await page.locator(`${PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']`)
    .allInnerTexts();
  for (const canvas of await page.locator(`${PANEL} .jp-OutputArea-output canvas`).all()) {
    await canvas.scrollIntoViewIfNeeded({ timeout: left() });
    const box = await canvas.boundingBox();
    if (!box || box.width < 2 || box.height < 2) continue;
    const file = out.replace(/\.png$/, "") + `_canvas${report.canvases.length}.png`;
    const png = await canvas.screenshot({ path: file, timeout: left() });
    report.canvases.push({ width: Math.round(box.width), height: Math.round(box.height),
      nonBackground: await nonBackground(page, png), file });
  }
  // widgets whose view failed show "Click to show javascript error": click, read the message
  report.widgetErrors = [];
  for (const bad of await page.locator(`${PANEL} .jupyter-widgets-error-widget`).all()) {
    await bad.click({ timeout: 5000 }).catch(() => {});
    report.widgetErrors.push((await bad.innerText()).slice(0, 3000));
  }
  for (const img of await page.locator(`${PANEL} .jp-OutputArea-output .widget-image`).all()) {
    report.images.push(await img.evaluate((e) => ({ width: e.naturalWidth, height: e.naturalHeight })));
  }
  await page.locator(`${PANEL} .jp-Cell`).first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: out });
  console.log(JSON.stringify(report));
} catch (e) {
  log(`failed: ${e.message}`);
  await page.screenshot({ path: out }).catch(() => {});  // what the page showed when it failed
  console.log(JSON.stringify({ ok: false, error: String(e.message || e), screenshot: out }));
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
