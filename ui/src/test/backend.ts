// A Backend for component tests: each test supplies the calls it expects, and any other call
// fails the test loudly. The real Backend is exercised by the end-to-end suite (tests/e2e).
import type { Backend } from "../backend";

export function testBackend(calls: Partial<Backend>): Backend {
  return new Proxy(calls as Backend, {
    get(target, prop: string) {
      const f = (target as unknown as Record<string, unknown>)[prop];
      if (f) return f;
      return () => Promise.reject(new Error(`unexpected backend call ${prop}`));
    },
  });
}
