/**
 * Times as people read them in a terminal, and as scripts read them in JSON.
 */

/** ISO 8601 for JSON output; null stays null. */
export function isoTime(epochMs: number | null | undefined): string | null {
  return epochMs === null || epochMs === undefined ? null : new Date(epochMs).toISOString()
}

/** "42 s", "3 min 5 s", "2 h 10 min", "29 days": the two largest units, rounded down. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
  return `${Math.floor(hours / 24)} days`
}

/** "in 3 min 5 s" or "3 min 5 s ago". */
export function relative(epochMs: number, now: number = Date.now()): string {
  return epochMs >= now ? `in ${duration(epochMs - now)}` : `${duration(now - epochMs)} ago`
}

/** Local wall-clock time with the relative part: "14:02:31 (in 28 s)". */
export function clockTime(epochMs: number, now: number = Date.now()): string {
  const date = new Date(epochMs)
  const sameDay = new Date(now).toDateString() === date.toDateString()
  const text = sameDay ? date.toLocaleTimeString('en-GB', { hour12: false }) : `${date.toISOString().slice(0, 10)} ${date.toLocaleTimeString('en-GB', { hour12: false })}`
  return `${text} (${relative(epochMs, now)})`
}
