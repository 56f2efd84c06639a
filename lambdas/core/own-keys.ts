/**
 * Answers and request ids are maps keyed by client-chosen strings, and a key such as
 * `constructor` or `__proto__` must mean that key, never something inherited from Object.
 */
export function ownValue<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

export function setOwn<T>(map: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}
