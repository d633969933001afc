/**
 * Topic access lists of the embedded broker's users: which topics a user may publish to and which
 * filters it may subscribe to, as lists of MQTT topic filters (`sensors/#`, `devices/+/state`).
 */

/** `$SYS/…`: the broker's own topics. Nobody publishes, subscribes or receives there. */
export function isSysTopic(topic: string): boolean {
  return topic === '$SYS' || topic.startsWith('$SYS/');
}

/**
 * Whether every topic the filter (or topic) `filter` matches is also matched by `acl`. A topic is a
 * filter without wildcards, so this also says whether `acl` matches a topic. As in MQTT §4.7.2,
 * wildcards at the first level never reach topics that start with `$`: `#` does not cover `$SYS/x`.
 */
export function covers(acl: string, filter: string): boolean {
  const allowed = acl.split('/');
  const wanted = filter.split('/');
  if (wanted[0]?.startsWith('$') === true && allowed[0] !== wanted[0]) return false;
  for (let i = 0; i < allowed.length; i++) {
    const level = allowed[i];
    if (level === '#') return true; // also the parent level: sensors/# covers sensors
    const got = wanted[i];
    if (got === undefined || got === '#') return false;
    if (level === '+') continue; // one level, literal or +
    if (got !== level) return false; // a + asked for under a literal level covers more than allowed
  }
  return wanted.length === allowed.length;
}

/** Whether one of the access list's filters covers `filter` (never a `$SYS` one). */
export function allowedBy(acl: readonly string[], filter: string): boolean {
  return !isSysTopic(filter) && acl.some((entry) => covers(entry, filter));
}
