import { existsSync, mkdirSync, statSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Locator,
  type Page,
} from 'playwright-core'
import { MemoryStore } from 'typed-session'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../examples/app.js'

// Debian's chromium, never a downloaded browser. CHROMIUM_PATH exists only to check the failure
// message below; CI and developers use the default.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// DESIGN.md section 5: the flags this machine kind needs. Playwright's launch() gives each run a
// fresh temporary profile (it refuses --user-data-dir in args), and each context is a clean slate.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const WAIT_MS = 10_000
// Starting Chromium is the slowest step and the one a busy machine slows most (10 s timed out once
// with both cores taken): it gets a bound of its own, inside the 120 s hook timeout.
const LAUNCH_MS = 90_000
const FIREFOX_ON_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0'
const CHROME_ON_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36'
const SCREENSHOT = fileURLToPath(new URL('../.artifacts/cart.png', import.meta.url))

let server: Server | undefined
let browser: Browser | undefined
let context: BrowserContext
let page: Page
let base = ''

beforeAll(async () => {
  // Fail, never skip: a browser test that silently does not run proves nothing.
  if (!existsSync(CHROMIUM)) {
    throw new Error('Chromium is missing: run "apt-get update && apt-get install -y chromium"')
  }
  const app = createApp({
    store: new MemoryStore(),
    secret: 'browser-test-secret-0123456789abcdefghij',
  })
  const listening = app.listen(0, '127.0.0.1')
  server = listening
  await new Promise<void>((resolve, reject) => {
    listening.once('listening', resolve)
    listening.once('error', reject)
  })
  base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: LAUNCH_MS })
  context = await newContext(browser)
  page = await context.newPage()
})

afterAll(async () => {
  await browser?.close()
  if (server) {
    const open = server
    open.closeAllConnections()
    await new Promise<void>((resolve) => open.close(() => resolve()))
  }
})

async function newContext(from: Browser, userAgent?: string): Promise<BrowserContext> {
  const created = await from.newContext({
    baseURL: base,
    ...(userAgent === undefined ? {} : { userAgent }),
  })
  created.setDefaultTimeout(WAIT_MS)
  created.setDefaultNavigationTimeout(WAIT_MS)
  return created
}

/**
 * Click a button that submits a form and wait until the page it leads to (after any redirects)
 * has loaded. `framenavigated` fires only when a new document commits, so this also works when
 * the form leads back to the same URL.
 */
async function submit(target: Page, button: Locator): Promise<void> {
  const committed = target.waitForEvent('framenavigated', {
    predicate: (frame) => frame === target.mainFrame(),
  })
  await button.click()
  await committed
  await target.waitForLoadState('load')
}

const flash = (target: Page, text: string): Locator => target.locator('.flash', { hasText: text })

async function sessionCookie(from: BrowserContext): Promise<{
  value: string
  httpOnly: boolean
  sameSite: string
  path: string
}> {
  const cookie = (await from.cookies(base)).find((c) => c.name === 'sid')
  if (!cookie) throw new Error('no sid cookie in the browser')
  return cookie
}

async function signIn(username: string, password: string, target: Page = page): Promise<void> {
  await target.getByLabel('User name').fill(username)
  await target.getByLabel('Password').fill(password)
  await submit(target, target.getByRole('button', { name: 'Sign in' }))
}

async function addToCart(sku: string, qty: number): Promise<void> {
  const form = page.locator(`form[data-sku="${sku}"]`)
  await form.locator('input[name=qty]').fill(String(qty))
  await submit(page, form.getByRole('button', { name: 'Add to cart' }))
}

const qtyOf = (sku: string): Locator => page.locator(`tr[data-sku="${sku}"] input[name=qty]`)

// Each wait is bounded by WAIT_MS; a test makes a dozen page loads, so it gets a budget of its own.
describe('example app in Chromium', { timeout: 60_000 }, () => {
  it('shows the login error and the welcome flash exactly once, and keeps the cart on sign-in', async () => {
    await page.goto('/')
    await addToCart('biscuits', 1)
    expect(await flash(page, 'Added 1 × Oat biscuits').count()).toBe(1)
    await page.reload()
    expect(await flash(page, 'Added 1').count()).toBe(0)
    const anonymous = (await sessionCookie(context)).value

    await page.goto('/login')
    await signIn('alice', 'not-her-password')
    expect(new URL(page.url()).pathname).toBe('/login')
    expect(await flash(page, 'Wrong user name or password.').count()).toBe(1)
    await page.reload()
    expect(await flash(page, 'Wrong user name or password.').count()).toBe(0)

    await signIn('alice', 'wonderland')
    expect(new URL(page.url()).pathname).toBe('/account')
    expect(await page.locator('#account').textContent()).toContain('Signed in as Alice')
    expect(await flash(page, 'Welcome, Alice.').count()).toBe(1)
    await page.reload()
    expect(await flash(page, 'Welcome, Alice.').count()).toBe(0)

    // Login regenerated the session (no fixation) and carried the cart over.
    expect((await sessionCookie(context)).value).not.toBe(anonymous)
    expect(await page.locator('#cart-count').textContent()).toBe('1')
  })

  it('fills the cart, which is still there after a reload', async () => {
    await page.goto('/')
    await addToCart('tea', 2)
    expect(await flash(page, 'Added 2 × Green tea, 100 g to your cart.').count()).toBe(1)
    await addToCart('mug', 1)

    await page.goto('/cart')
    await qtyOf('mug').fill('3')
    await submit(page, page.locator('tr[data-sku="mug"]').getByRole('button', { name: 'Update' }))
    await submit(
      page,
      page.locator('tr[data-sku="biscuits"]').getByRole('button', { name: 'Remove' }),
    )

    await page.reload()
    expect(await qtyOf('tea').inputValue()).toBe('2')
    expect(await qtyOf('mug').inputValue()).toBe('3')
    expect(await page.locator('tr[data-sku="biscuits"]').count()).toBe(0)
    expect(await page.locator('#cart-total').textContent()).toBe('€55.00')
    expect(await page.locator('#cart-count').textContent()).toBe('5')

    mkdirSync(fileURLToPath(new URL('../.artifacts/', import.meta.url)), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000)
  })

  it('keeps the session cookie away from scripts: HttpOnly, SameSite=Lax, Path=/', async () => {
    const cookie = await sessionCookie(context)
    expect(cookie.httpOnly).toBe(true)
    expect(cookie.sameSite).toBe('Lax')
    expect(cookie.path).toBe('/')
    // A string expression: this project's tsconfig has no DOM lib.
    const visibleToScripts = String(await page.evaluate('document.cookie'))
    expect(visibleToScripts).not.toContain('sid=')
  })

  it('gives a second browser context its own session', async () => {
    if (!browser) throw new Error('no browser')
    const other = await newContext(browser)
    try {
      const second = await other.newPage()
      await second.goto('/cart')
      expect(await second.locator('#empty-cart').count()).toBe(1)
      expect(await second.getByRole('link', { name: 'Sign in' }).count()).toBe(1)
      expect((await sessionCookie(other)).value).not.toBe((await sessionCookie(context)).value)
      await second.goto('/session')
      await page.goto('/session')
      const ids = [
        await second.locator('#session-id').textContent(),
        await page.locator('#session-id').textContent(),
      ]
      expect(ids[0]).not.toBe(ids[1])
    } finally {
      await other.close()
    }
  })

  it('signs out, and the back button no longer shows private pages', async () => {
    await page.goto('/account')
    expect(await page.locator('#account').count()).toBe(1)
    const signedIn = (await sessionCookie(context)).value

    await submit(page, page.getByRole('button', { name: 'Sign out' }))
    expect(new URL(page.url()).pathname).toBe('/')
    expect(await flash(page, 'You are signed out.').count()).toBe(1)
    expect(await page.locator('#cart-count').textContent()).toBe('0')
    await page.reload()
    expect(await flash(page, 'You are signed out.').count()).toBe(0)
    expect((await sessionCookie(context)).value).not.toBe(signedIn)

    // Back to /account: with no-store the browser must ask the server, which now says "sign in".
    await page.goBack()
    await page.waitForLoadState('load')
    expect(await page.locator('#account').count()).toBe(0)
    expect(new URL(page.url()).pathname).toBe('/login')
    expect(await page.content()).not.toContain('Signed in as')

    // The signed-in cookie, replayed by hand, no longer authenticates.
    const replay = await fetch(`${base}/account`, {
      headers: { cookie: `sid=${signedIn}` },
      redirect: 'manual',
    })
    expect(replay.status).toBe(302)
    expect(replay.headers.get('location')).toBe('/login')
  })

  it('lists the devices signed in to one account and signs the other ones out', async () => {
    if (!browser) throw new Error('no browser')
    const laptop = await newContext(browser, FIREFOX_ON_LINUX)
    const phone = await newContext(browser, CHROME_ON_ANDROID)
    try {
      const [onLaptop, onPhone] = [await laptop.newPage(), await phone.newPage()]
      for (const target of [onLaptop, onPhone]) {
        await target.goto('/login')
        await signIn('alice', 'wonderland', target)
        expect(new URL(target.url()).pathname).toBe('/account')
      }
      const rows = onLaptop.locator('#sessions tr[data-session]')
      await onLaptop.reload()
      expect(await rows.count()).toBe(2)
      expect(await onLaptop.locator('tr[data-session="current"]').textContent()).toContain(
        'Firefox on Linux (this device)',
      )
      const phoneRow = onLaptop.locator('tr[data-session="other"]')
      expect(await phoneRow.textContent()).toContain('Chrome on Android')
      // The page names sessions by handle, never by id: no session id of either browser in it.
      const html = await onLaptop.content()
      for (const context of [laptop, phone]) {
        const id = decodeURIComponent((await sessionCookie(context)).value).slice(2, 34)
        expect(html).not.toContain(id)
      }

      // One session, ended from the list: the phone is signed out, the laptop is not.
      await submit(onLaptop, phoneRow.getByRole('button', { name: 'End session' }))
      expect(await flash(onLaptop, 'That session is signed out.').count()).toBe(1)
      expect(await rows.count()).toBe(1)
      await onPhone.goto('/account')
      expect(new URL(onPhone.url()).pathname).toBe('/login')

      // Signed in again on the phone, then "sign out other devices" from the laptop.
      await signIn('alice', 'wonderland', onPhone)
      await onLaptop.reload()
      expect(await rows.count()).toBe(2)
      await submit(onLaptop, onLaptop.getByRole('button', { name: 'Sign out other devices' }))
      expect(await flash(onLaptop, 'Signed out of 1 other session.').count()).toBe(1)
      expect(await rows.count()).toBe(1)
      await onPhone.goto('/account')
      expect(new URL(onPhone.url()).pathname).toBe('/login')
      expect(await flash(onPhone, 'Please sign in to see your account.').count()).toBe(1)
      // ... and the laptop is still signed in.
      await onLaptop.goto('/account')
      expect(await onLaptop.locator('#account').textContent()).toContain('Signed in as Alice')
    } finally {
      await laptop.close()
      await phone.close()
    }
  })
})
