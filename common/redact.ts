// Secrets that hide inside text: a URL's user:password (or token) part. Logs,
// config errors and the CLI's last word all pass their text through here.

// scheme://user:password@host or scheme://token@host: the userinfo goes, the rest of the URL stays.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'<>]+@/gi;

/** `s` with the credentials of any URL in it masked. */
export function maskUrlCredentials(s: string): string {
  return s.replace(URL_USERINFO, '$1***@');
}
