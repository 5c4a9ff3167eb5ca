// Drives the real VS Code (code-server) in Debian's headless Chromium with playwright-core, as a
// person would: open redis.conf, wait for our squiggle, open the Problems panel (Ctrl+Shift+M),
// read it and the status bar, hover the squiggle, take a screenshot.
//
// Run by tests/test_vscode_codeserver.py. Input through the environment:
//   PLAYWRIGHT_CORE   absolute path of the playwright-core package folder
//   CHROMIUM          browser executable (Debian's /usr/bin/chromium)
//   CHROMIUM_PROFILE  a new, empty folder for Chromium's --user-data-dir
//   CODE_SERVER_URL   http://127.0.0.1:PORT/
//   WORKSPACE         the folder code-server has open
//   FILE_NAME         the file to open in it (redis.conf)
//   EXPECT_CODE       the diagnostic code to find (REDIS-NET-001)
//   SCREENSHOT        where to write the PNG
//   RESULT            where to write the JSON result
//   TIMEOUT_MS        the overall bound for everything after the browser started
//   OPEN_WITH         optional: `quickopen` opens the file with Ctrl+P instead of the URL payload
// Exits 0 when it got as far as the Problems panel, 1 otherwise; RESULT always says how far it got.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`environment variable ${name} is not set`);
  }
  return value;
};

const result = { steps: [], console: [] };
const t0 = Date.now();
function step(name, extra = {}) {
  const entry = { step: name, ms: Date.now() - t0, ...extra };
  result.steps.push(entry);
  console.log(`[driver +${entry.ms}ms] ${name}${Object.keys(extra).length ? ' ' + JSON.stringify(extra) : ''}`);
}

function writeResult() {
  try {
    fs.writeFileSync(env('RESULT'), JSON.stringify(result, null, 2));
  } catch (error) {
    console.error(`cannot write RESULT: ${error}`);
  }
}

async function main() {
  const { chromium } = require(env('PLAYWRIGHT_CORE'));
  const timeoutMs = Number(process.env.TIMEOUT_MS || 90000);
  const deadline = Date.now() + timeoutMs;
  const remaining = (cap = Infinity) => {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`overall time limit of ${timeoutMs} ms reached`);
    }
    return Math.min(left, cap);
  };
  const waiting = (what) => {
    result.waiting_for = what;
  };
  const baseUrl = env('CODE_SERVER_URL').replace(/\/+$/, '');
  const workspace = env('WORKSPACE');
  const fileName = env('FILE_NAME');
  const expectCode = env('EXPECT_CODE');
  const screenshot = env('SCREENSHOT');
  const host = new URL(baseUrl).host;
  const filePath = path.join(workspace, fileName);

  const context = await chromium.launchPersistentContext(env('CHROMIUM_PROFILE'), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // playwright-core adds --headless itself; the rest are the flags this machine needs.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 900 },
    timeout: remaining(60000),
  });
  step('browser started', { version: context.browser()?.version() ?? null });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (msg) => {
      if (msg.type() === 'error' && result.console.length < 30) {
        result.console.push(msg.text().slice(0, 300));
      }
    });
    page.on('pageerror', (error) => {
      if (result.console.length < 30) {
        result.console.push(`pageerror: ${String(error).slice(0, 300)}`);
      }
    });

    // Open the folder and the file in one URL: VS Code's web workbench reads `openFile` from the
    // payload (environmentService.filesToOpenOrCreate).
    const fileUri = `vscode-remote://${host}${filePath}`;
    const payload = JSON.stringify([['openFile', fileUri]]);
    // OPEN_WITH=quickopen skips the payload, to exercise the Quick Open path.
    const usePayload = process.env.OPEN_WITH !== 'quickopen';
    const url = `${baseUrl}/?folder=${encodeURIComponent(workspace)}` +
      (usePayload ? `&payload=${encodeURIComponent(payload)}` : '');
    waiting('the code-server page to load');
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: remaining(60000) });
    step('page loaded', { url });
    waiting('the VS Code workbench to appear');
    await page.locator('.monaco-workbench').first().waitFor({ timeout: remaining() });
    step('workbench shown');

    waiting(`the editor tab of ${fileName}`);
    const tab = page.locator(`.tabs-container .tab[aria-label^="${fileName}"]`).first();
    try {
      if (!usePayload) {
        throw new Error('OPEN_WITH=quickopen');
      }
      await tab.waitFor({ timeout: remaining(20000) });
      step('file opened from the URL payload');
    } catch {
      // Fallback: Quick Open, as a person would.
      step('payload did not open the file; using Quick Open (Ctrl+P)');
      waiting(`Quick Open to find and open ${fileName}`);
      await page.locator('.monaco-workbench').first().click({ position: { x: 700, y: 400 }, timeout: remaining() });
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget input').first();
      await input.waitFor({ timeout: remaining(15000) });
      await input.fill(fileName);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: fileName }).first()
        .waitFor({ timeout: remaining(30000) });
      await page.keyboard.press('Enter');
      await tab.waitFor({ timeout: remaining() });
      step('file opened with Quick Open');
    }
    waiting(`the text of ${fileName} in the editor`);
    await page.locator('.monaco-editor .view-lines', { hasText: 'protected-mode' }).first()
      .waitFor({ timeout: remaining() });
    step('file text shown');

    // The squiggle the language server's diagnostic produces in the editor, on the line and under
    // the characters that TARGET_LINE_TEXT / TARGET_TEXT name (`protected-mode no`, `no`).
    const anySquiggle = page.locator('.monaco-editor .squiggly-error, .monaco-editor .squiggly-warning').first();
    waiting('a squiggle (.squiggly-error or .squiggly-warning) in the editor');
    await anySquiggle.waitFor({ state: 'attached', timeout: remaining() });
    step('first squiggle shown', { class: await anySquiggle.getAttribute('class') });
    const lineText = process.env.TARGET_LINE_TEXT || 'protected-mode no';
    const targetText = process.env.TARGET_TEXT || 'no';
    waiting(`a squiggle under "${targetText}" on the line "${lineText}"`);
    const found = await page.waitForFunction(
      ({ lineText, targetText }) => {
        const line = [...document.querySelectorAll('.monaco-editor .view-line')]
          .find((el) => el.textContent.replace(/\u00a0/g, ' ').trimEnd() === lineText);
        if (!line) {
          return null;
        }
        // The rectangle of the target characters, from the line's text nodes.
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        const offset = lineText.lastIndexOf(targetText);
        let seen = 0;
        let rect = null;
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const len = node.textContent.length;
          if (offset >= seen && offset + targetText.length <= seen + len) {
            const range = document.createRange();
            range.setStart(node, offset - seen);
            range.setEnd(node, offset - seen + targetText.length);
            rect = range.getBoundingClientRect();
            break;
          }
          seen += len;
        }
        if (!rect) {
          return null;
        }
        const lineRect = line.getBoundingClientRect();
        const squiggles = [...document.querySelectorAll('.monaco-editor .squiggly-error, .monaco-editor .squiggly-warning')]
          .map((el) => ({ cls: el.className, r: el.getBoundingClientRect() }))
          .filter(({ r }) => r.top + r.height / 2 >= lineRect.top && r.top + r.height / 2 <= lineRect.bottom);
        const hit = squiggles.find(({ r }) => r.left <= rect.left + 1 && r.right >= rect.right - 1);
        if (!hit) {
          return null;
        }
        const box = (r) => ({ x: r.left, y: r.top, width: r.width, height: r.height });
        return { class: hit.cls, squiggle: box(hit.r), text: box(rect), line: box(lineRect) };
      },
      { lineText, targetText },
      { timeout: remaining(), polling: 250 },
    );
    const squiggleInfo = await found.jsonValue();
    result.squiggle_class = squiggleInfo.class;
    result.squiggle_box = squiggleInfo.squiggle;
    result.target_text_box = squiggleInfo.text;
    step('squiggle under the target text', { class: result.squiggle_class, text: targetText });

    // Status bar problem counts.
    const status = page.locator('[id="status.problems"]').first();
    waiting('the problems item in the status bar');
    await status.waitFor({ timeout: remaining(20000) });
    result.status_bar = ((await status.getAttribute('aria-label')) || (await status.innerText())).trim();
    step('status bar read', { text: result.status_bar });

    // Problems panel with the keyboard shortcut, focus in the editor first.
    await page.locator('.monaco-editor .view-lines').first().click({ timeout: remaining() });
    waiting(`the Problems panel (Ctrl+Shift+M) to list ${expectCode}`);
    await page.keyboard.press('Control+Shift+M');
    const panel = page.locator('.markers-panel').first();
    await panel.waitFor({ timeout: remaining(20000) });
    await page.locator('.markers-panel .monaco-list-row', { hasText: expectCode }).first()
      .waitFor({ timeout: remaining() });
    result.problems_text = (await panel.innerText()).trim();
    const rows = page.locator('.markers-panel .monaco-list-row');
    result.problems_rows = [];
    for (let i = 0; i < Math.min(await rows.count(), 20); i++) {
      result.problems_rows.push({
        text: (await rows.nth(i).innerText()).replace(/\s+/g, ' ').trim(),
        aria: await rows.nth(i).getAttribute('aria-label'),
      });
    }
    step('problems panel read', { rows: result.problems_rows.length });

    // Hover over the squiggled characters: VS Code shows the diagnostic with its HIPAA citation.
    // Hovers can be missed when the mouse lands while the editor re-renders: move away and back,
    // a bounded number of times.
    const tb = result.target_text_box;
    const hover = page.locator('.monaco-hover:not(.hidden)', { hasText: expectCode }).first();
    for (let attempt = 1; attempt <= 4 && !result.hover_text; attempt++) {
      await page.mouse.move(tb.x + tb.width + 300, tb.y + 200);
      await page.mouse.move(tb.x + tb.width / 2, tb.y + tb.height / 2, { steps: 3 });
      try {
        await hover.waitFor({ timeout: remaining(5000) });
        result.hover_text = (await hover.innerText()).trim();
        step('hover shown', { attempt });
      } catch (error) {
        result.hover_error = String(error).split('\n')[0];
        step('no hover yet', { attempt });
      }
    }

    waiting('the screenshot');
    await page.screenshot({ path: screenshot, timeout: remaining(20000) });
    step('screenshot taken', { path: screenshot });
    delete result.waiting_for;
    result.ok = true;
  } catch (error) {
    result.ok = false;
    result.error = `while waiting for ${result.waiting_for}: ` +
      String(error && error.stack ? error.stack : error).slice(0, 2000);
    step('failed', { waiting_for: result.waiting_for, error: String(error).split('\n')[0] });
    try {
      const page = context.pages()[0];
      if (page) {
        const failShot = screenshot.replace(/\.png$/, '') + '-failure.png';
        await page.screenshot({ path: failShot, timeout: 15000 });
        result.failure_screenshot = failShot;
        result.page_text = (await page.locator('body').innerText({ timeout: 5000 })).slice(0, 4000);
      }
    } catch (inner) {
      result.failure_capture_error = String(inner).split('\n')[0];
    }
  } finally {
    await context.close().catch(() => {});
    step('browser closed');
  }
}

main()
  .catch((error) => {
    result.ok = false;
    result.error = String(error && error.stack ? error.stack : error).slice(0, 2000);
    console.error(result.error);
  })
  .finally(() => {
    writeResult();
    process.exit(result.ok ? 0 : 1);
  });
