const euros = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });

/** `€12.90`. */
export const money = (value) => euros.format(Number(value) || 0);

/** `just now`, `5 min ago`, ... */
export function timeAgo(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** `42%`, or `–` when nothing was looked up yet. */
export const percent = (rate) => (rate === null || rate === undefined || Number.isNaN(rate) ? '–' : `${Math.round(rate * 100)}%`);
