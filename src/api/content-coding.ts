/**
 * Content-coding negotiation (RFC 9110 §12.5.3): whether a request's Accept-Encoding admits
 * `zstd` (RFC 8878). Only an explicit `zstd` with a non-zero quality counts: `*` is not taken as
 * consent to a coding the client never named.
 */

/** True when `header` (an Accept-Encoding value) accepts zstd. */
export function acceptsZstd(header: string | undefined): boolean {
  if (!header) return false;
  for (const member of header.split(',')) {
    const [coding, ...params] = member.split(';').map((part) => part.trim());
    if (coding?.toLowerCase() !== 'zstd') continue;
    const q = params.find((p) => /^q\s*=/i.test(p));
    if (q === undefined) return true;
    const value = Number(q.slice(q.indexOf('=') + 1).trim());
    return Number.isFinite(value) && value > 0;
  }
  return false;
}
