/**
 * A real headless Chromium for page tests: Debian's package (installed by
 * scripts/install-chromium when missing) driven by playwright-core. Screenshots go to
 * test-artifacts/ (kept by CI, ignored by git).
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

/** Path of the Chromium binary, installing it first if needed. */
export function chromiumPath(): string {
  return execFileSync('bash', [join(import.meta.dirname, '../../scripts/install-chromium')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Launches headless Chromium with background networking off. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-default-apps', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** Saves a full-page screenshot as test-artifacts/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
