import { useCallback, useState } from "react";
import { BackendError } from "../backend";

/** Runs one backend call at a time with a busy flag and the refusal, if any. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<BackendError | null>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(BackendError.from(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** The error for one field: exact match, or a nested field such as `items[0].name`. */
export function fieldError(error: BackendError | null, ...fields: string[]): BackendError | null {
  if (!error?.field) return null;
  return fields.some((f) => error.field === f || error.field?.startsWith(`${f}.`)) ? error : null;
}
