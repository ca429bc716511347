/**
 * @module client/emitter
 * A tiny typed event emitter (the SDK avoids Node's EventEmitter and DOM-only event classes,
 * so it runs the same in browsers, Node, Deno and Bun).
 */

type Listener<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  /** Listeners by event name; lives as long as the emitter. */
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.listeners.get(type)?.delete(listener as Listener<never>);
  }

  /** Listeners of one event type, or of all of them: a component that unmounted should leave none. */
  listenerCount(type?: keyof Events): number {
    if (type !== undefined) return this.listeners.get(type)?.size ?? 0;
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /** Calls the listener for the next event of this type only. */
  once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(type, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Resolves with the next event of this type that matches; rejects after `timeoutMs`. */
  next<K extends keyof Events>(
    type: K,
    match: (payload: Events[K]) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<Events[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for "${String(type)}"`));
      }, timeoutMs);
      const off = this.on(type, (payload) => {
        if (!match(payload)) return;
        clearTimeout(timer);
        off();
        resolve(payload);
      });
    });
  }

  protected emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (err) {
        // One listener's bug must not break the connection or the other listeners.
        console.error(`ridewire: a "${String(type)}" listener threw`, err);
      }
    }
  }
}
