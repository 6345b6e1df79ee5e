// The finder page in a real browser: Debian's chromium, headless, driven by
// playwright-core (no browser download), with axe-core for accessibility.
//
//   node tests/browser/finder.mjs URL SCREENSHOT_DIR
//
// Opens URL as a reader in Asia/Tokyo, reads every group and its times,
// chooses "evening" in the form with the keyboard and submits it, reads the
// groups again, runs axe-core on both pages and saves a screenshot. Prints
// one JSON object on standard output; tests/web_browser.rs checks it.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const [url, outDir] = process.argv.slice(2);
if (!url || !outDir) {
    console.error("usage: node finder.mjs URL SCREENSHOT_DIR");
    process.exit(2);
}

const browser = await chromium.launch({
    executablePath: process.env.HEARTH_CHROMIUM || "/usr/bin/chromium",
    // This machine's network is closed: without these, chromium keeps
    // trying to reach Google's hosts.
    args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ],
});
const result = {};
try {
    const context = await browser.newContext({
        timezoneId: "Asia/Tokyo",
        locale: "en-GB",
        viewport: { width: 390, height: 844 },
        // axe-core is injected as a script of the test's: the page's own CSP
        // (default-src 'self') rightly refuses it.
        bypassCSP: true,
    });
    const page = await context.newPage();
    // Script errors on the page; console errors (a missing favicon among
    // them) are kept apart.
    const errors = [];
    const consoleErrors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));

    await page.goto(url, { waitUntil: "load" });
    result.first = await read(page);
    result.first.axe = await axe(page);
    await page.screenshot({ path: join(outDir, "finder-tokyo.png"), fullPage: true });

    // The evening filter, with the keyboard alone: focus the select, choose,
    // and submit with Enter on the button.
    await page.focus("#f-time");
    await page.selectOption("#f-time", "evening");
    await page.focus("button[type=submit]");
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("Enter")]);
    result.evening = await read(page);
    result.evening.axe = await axe(page);
    await page.screenshot({ path: join(outDir, "finder-tokyo-evening.png"), fullPage: true });

    result.errors = errors;
    result.consoleErrors = consoleErrors;
    result.requests = requests;
    result.screenshots = [join(outDir, "finder-tokyo.png"), join(outDir, "finder-tokyo-evening.png")];
} finally {
    await browser.close();
}
console.log(JSON.stringify(result));

/** What a reader sees: the URL, the zone field, each group and its times. */
async function read(page) {
    return page.evaluate(() => ({
        url: location.href,
        lang: document.documentElement.lang,
        zoneField: document.getElementById("f-zone").value,
        zoneShown: document.querySelector("[data-zone-name]").textContent,
        groups: [...document.querySelectorAll("li.group")].map((li) => ({
            name: li.querySelector("h3").textContent,
            times: [...li.querySelectorAll("time")].map((t) => ({
                datetime: t.getAttribute("datetime"),
                text: t.textContent,
            })),
        })),
    }));
}

/** axe-core's violations on the page as it is, by impact. */
async function axe(page) {
    await page.addScriptTag({ content: axeSource });
    const found = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
    });
    return found;
}
