/**
 * Makes `proto` answer every member of `realProto` by forwarding to a real object: a getter reads the
 * real object's property, a method is applied to it. `real(self)` makes (or finds) the real object of
 * a stand-in. Used by the lazy Request and the light Response, whose instances build the real one only
 * when something needs it. Members `proto` defines itself are kept when `keepOwn`.
 */
export function forwardMembers<Self>(
  proto: object,
  realProto: object,
  real: (self: Self) => object,
  keepOwn: boolean,
): void {
  const target = proto as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(realProto)) {
    if (key === 'constructor' || key === Symbol.toStringTag) continue;
    if (keepOwn && Object.hasOwn(target, key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(realProto, key);
    if (descriptor === undefined) continue;
    if (descriptor.get !== undefined) {
      Object.defineProperty(target, key, {
        configurable: true,
        enumerable: descriptor.enumerable ?? false,
        get(this: Self) {
          return (real(this) as Record<PropertyKey, unknown>)[key];
        },
      });
    } else if (typeof descriptor.value === 'function') {
      const method = descriptor.value as (...args: unknown[]) => unknown;
      Object.defineProperty(target, key, {
        configurable: true,
        writable: true,
        enumerable: descriptor.enumerable ?? false,
        value(this: Self, ...args: unknown[]) {
          return method.apply(real(this), args);
        },
      });
    }
  }
}
