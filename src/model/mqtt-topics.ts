/** MQTT topic filters and topics: their checks and matching (MQTT 3.1.1 §4.7, MQTT 5 §4.7). */

/** `$share/<group>/<filter>`: a shared subscription (MQTT 5, and most 3.1.1 brokers). */
const SHARED = /^\$share\/([^/]*)\/(.*)$/s;

/** Why `filter` is not a valid MQTT topic filter, or undefined when it is. */
export function filterProblem(filter: string): string | undefined {
  let plain = filter;
  const shared = SHARED.exec(filter);
  if (shared !== null) {
    const group = shared[1] ?? '';
    if (group === '' || /[#+]/.test(group)) return 'a shared subscription needs a group name without + or #';
    plain = shared[2] ?? '';
  } else if (filter.startsWith('$share/') || filter === '$share') {
    return 'a shared subscription is $share/<group>/<filter>';
  }
  if (plain === '') return 'the topic filter is empty';
  if (plain.includes('\0')) return 'a topic filter cannot contain a NUL character';
  const levels = plain.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return '# must be a whole level and the last one (sensors/#)';
    }
    if (level.includes('+') && level !== '+') return '+ must be a whole level (sensors/+/temperature)';
  }
  return undefined;
}

/** Why `topic` cannot be published to, or undefined when it can. */
export function topicProblem(topic: string): string | undefined {
  if (topic === '') return 'the topic is empty';
  if (/[#+]/.test(topic)) return 'a topic to publish to cannot contain the wildcards + or #';
  if (topic.includes('\0')) return 'a topic cannot contain a NUL character';
  if (topic.startsWith('$')) return 'topics starting with $ are reserved for the broker';
  return undefined;
}

/** Why no broker would take a rule (its filter, or its publish topic), or undefined when one would. */
export function mqttRuleProblem(rule: {
  subscribe: string;
  publish?: string | undefined;
  onError?: 'drop' | 'publish' | undefined;
}): string | undefined {
  const subscribe = filterProblem(rule.subscribe);
  if (subscribe !== undefined) {
    return `subscribe ${JSON.stringify(rule.subscribe)} is not a valid topic filter: ${subscribe}`;
  }
  if (rule.publish === undefined) {
    return rule.onError === 'publish'
      ? 'onError "publish" needs a "publish" topic to publish the failure record to'
      : undefined;
  }
  const publish = JSON.stringify(rule.publish);
  const problem = topicProblem(rule.publish);
  if (problem !== undefined) return `publish ${publish} is not a valid topic: ${problem}`;
  if (topicMatches(rule.subscribe, rule.publish)) {
    return `publish ${publish} matches the rule's own subscribe filter ${JSON.stringify(rule.subscribe)}: every result would run the function again`;
  }
  return undefined;
}

/** Whether a message on `topic` matches the topic filter `filter` (wildcards `+` and `#`, `$share/`). */
export function topicMatches(filter: string, topic: string): boolean {
  const plain = SHARED.exec(filter)?.[2] ?? filter;
  const want = plain.split('/');
  const got = topic.split('/');
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with $ ($SYS/...)
  if (topic.startsWith('$') && (want[0] === '+' || want[0] === '#')) return false;
  for (let i = 0; i < want.length; i++) {
    const level = want[i];
    if (level === '#') return true; // also matches the parent level: sensors/# matches sensors
    if (i >= got.length) return false;
    if (level !== '+' && level !== got[i]) return false;
  }
  return want.length === got.length;
}
