/**
 * @module rooms/alarm-clock
 * An object's one alarm, shared by everything in it that keeps time (token expiry, the log's
 * outbox, dispatch's deadlines): each asks to be woken no later than its deadline. The clock
 * remembers when the alarm is set for, so that asking for a later time costs no storage call.
 */
export class AlarmClock {
  private setFor: number | null = null;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Reads when the alarm is set for: once as the object wakes, before anything asks. */
  async load(): Promise<void> {
    this.setFor = await this.storage.getAlarm();
  }

  /** Makes sure the alarm fires no later than `at`. Setting it earlier is always safe. */
  wakeAt(at: number): void {
    if (this.setFor !== null && this.setFor <= at) return;
    this.setFor = at;
    void this.storage.setAlarm(at);
  }

  /** Wakes at the earliest of the deadlines given (null: that part needs no alarm), if any. */
  wakeAtEarliest(...deadlines: (number | null)[]): void {
    const due = deadlines.filter((t): t is number => t !== null);
    if (due.length > 0) this.wakeAt(Math.min(...due));
  }

  /** The alarm fired: none is set until a part asks again. */
  rang(): void {
    this.setFor = null;
  }
}
