/** Every test's temporary data directory starts with this, so the leak check can find its processes. */
export const TMP_PREFIX = 'skiff-test-';
