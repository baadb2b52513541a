// The Content-Security-Policy of the renderer, served by both transports (Electron's app://
// protocol and browser mode). Strict: only our own scripts and styles, no eval, no inline
// script, no plugins, no framing, no form posts, no fetches beyond our own origin. Svelte 5 and
// Vite's production build need nothing more ('self' covers the app:// scheme in Electron once it
// is registered as standard and secure). `style-src 'unsafe-inline'` is NOT granted: component
// styles are emitted as a CSS file and style directives go through the CSSOM.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Headers sent with every renderer file, in both transports. */
export const RENDERER_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
