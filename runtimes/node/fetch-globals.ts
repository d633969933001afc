/**
 * Node's fetch implementation (undici) loads on the first touch of its globals (`Request`,
 * `Response`, `Headers`, `FormData`) or the first `fetch()`: about 5 MiB of private and 7 MiB of
 * file-backed memory in every instance that does. The lazy Request and the light Response link to
 * Node's classes only once something loads them (`fetchClasses`): an instance whose handler never
 * uses Request, Response or fetch never loads it. The bridge puts getters in front of the `Request`
 * global and `fetch` (installFetchGlobals) so that whichever comes first links both classes, and
 * `instanceof Request` / `instanceof Response` hold as before.
 */
export interface FetchClasses {
  Request: typeof Request;
  Response: typeof Response;
}

const originalRequest = Object.getOwnPropertyDescriptor(globalThis, 'Request');
const originalResponse = Object.getOwnPropertyDescriptor(globalThis, 'Response');
const originalFetch = globalThis.fetch;
type FetchInput = Parameters<typeof originalFetch>[0];
const links: ((classes: FetchClasses) => void)[] = [];
let loaded: FetchClasses | undefined;
let fetchWrapper: typeof fetch | undefined;

/** A global as Node defined it: its lazy getter (which loads undici and replaces itself), or its value. */
function read(descriptor: PropertyDescriptor | undefined): unknown {
  return descriptor?.get !== undefined ? descriptor.get.call(globalThis) : descriptor?.value;
}

/** Node's Request and Response classes, loading its fetch implementation on the first call. */
export function fetchClasses(): FetchClasses {
  if (loaded !== undefined) return loaded;
  // Node's getter of Response redefines the global as its class: whatever stood there (the light
  // Response, or a handler's own) is put back
  const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  const request = Object.getOwnPropertyDescriptor(globalThis, 'Request');
  loaded = {
    Request: read(originalRequest) as typeof Request,
    Response: read(originalResponse) as typeof Response,
  };
  if (response !== undefined && response.get !== originalResponse?.get) {
    Object.defineProperty(globalThis, 'Response', response);
  }
  if (request !== undefined && request.get !== originalRequest?.get && request.get !== requestGetter) {
    Object.defineProperty(globalThis, 'Request', request);
  }
  if (fetchWrapper !== undefined && globalThis.fetch === fetchWrapper) globalThis.fetch = originalFetch;
  for (const link of links.splice(0)) link(loaded);
  return loaded;
}

/** Node's classes if its fetch implementation was loaded through `fetchClasses`, else undefined. */
export function loadedFetchClasses(): FetchClasses | undefined {
  return loaded;
}

/** Runs `link` with Node's classes once they load (at once if they have). */
export function onFetchLoad(link: (classes: FetchClasses) => void): void {
  if (loaded !== undefined) link(loaded);
  else links.push(link);
}

function requestGetter(): typeof Request {
  return fetchClasses().Request;
}

/**
 * Puts a getter in front of the `Request` global and a wrapper in front of `fetch` (until they
 * load Node's fetch implementation): the first use of either links the lazy Request and the light
 * Response to Node's classes. A handler that assigns the global gets what it assigned.
 */
export function installFetchGlobals(): void {
  if (loaded !== undefined || fetchWrapper !== undefined) return;
  // Node.js 22 and later load their fetch implementation while they start (the globals are plain
  // values, no getters): there is nothing to defer, so the stand-ins link to Node's classes now
  if (originalRequest?.get === undefined) {
    fetchClasses();
    return;
  }
  if (originalRequest?.get !== undefined) {
    Object.defineProperty(globalThis, 'Request', {
      configurable: true,
      enumerable: false,
      get: requestGetter,
      set(value: unknown) {
        Object.defineProperty(globalThis, 'Request', {
          configurable: true,
          enumerable: false,
          writable: true,
          value,
        });
      },
    });
  }
  const wrapper = function fetch(input: FetchInput, init?: RequestInit): Promise<Response> {
    fetchClasses();
    return originalFetch(input, init);
  };
  fetchWrapper = wrapper;
  globalThis.fetch = wrapper;
}

/**
 * A prototype for a stand-in class until Node's classes load: any member the stand-in does not have
 * itself loads them (which links `classProto` to Node's prototype) and is then read from
 * `classProto`. `then` is answered without loading (undefined, as on Node's prototypes): `await`
 * asks every value for it.
 */
export function pendingPrototype(classProto: object): object {
  return new Proxy(Object.create(Object.prototype) as object, {
    get(_target, key, receiver) {
      if (key === 'then') return undefined;
      fetchClasses();
      return Reflect.get(classProto, key, receiver) as unknown;
    },
    has(_target, key) {
      if (key === 'then') return false;
      fetchClasses();
      return Reflect.has(classProto, key);
    },
    set(_target, key, value, receiver) {
      fetchClasses();
      return Reflect.set(classProto, key, value, receiver);
    },
  });
}
