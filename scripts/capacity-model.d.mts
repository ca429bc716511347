/** Types of scripts/capacity-model.mjs, for the tests that import it (test/unit/capacity-model.test.ts). */
export type Scenario = {
  cities: number;
  drivers: number;
  fixIntervalS: number;
  riders: number;
  tripsPerS: number;
  chatMessagesPerS: number;
};
export type Measured = { fixUs: number; chatOwnUsPerMessage: number; chatUsPerDelivery: number };
export type Tally = {
  httpPerTrip: number;
  rpcPerTrip: number;
  cellRpcPerTrip: number;
  queueMessagesPerTrip: number;
  socketsPerTrip: number;
};
export type Assumed = {
  tripMinutes: number;
  averageToPeak: number;
  densestCellDrivers: number;
  densestCellReportsPerS: number;
  cellReportsPerDriverS: number;
  busiestCityShare: number;
  busiestCellShare: number;
  cellReportUs: number;
  cellSnapshotUs: number;
  tripFixUs: number;
  chatRecipients: number;
  bigRoomMembers: number;
  bigRoomMessagesPerS: number;
  roomMessagesPerS: number;
  archiveBeatS: number;
  chatOfflineShare: number;
  operators: number;
  deskEventsPerTrip: number;
  activeRiders: number;
  tokenRefreshS: number;
  otherRequestsPerClientS: number;
  reconnectsPerDriverS: number;
  doWallOverCpu: number;
  d1WritesPerS: number;
  d1Utilisation: number;
  d1FillGb: number;
  chatMessageBytes: number;
  chatD1Rows: number;
  chatRoomSqlRows: number;
  notificationBytes: number;
  notificationD1Rows: number;
  tripBytes: number;
  tripD1Rows: number;
  ledgerBytesPerTrip: number;
  ledgerD1RowsPerTrip: number;
  chatHotDays: number;
  notificationHotDays: number;
  tripHotDays: number;
  ledgerHotDays: number;
  r2CompressionRatio: number;
  roomDaysPerDay: number;
  aePointsPerRequest: number;
  aePointsPerTrip: number;
  aePointsPerFlush: number;
  tripD1Writes: number;
  ledgerD1Writes: number;
  notificationD1Writes: number;
  refreshD1Rows: number;
  lastSeenD1Rows: number;
  tripSqlRows: number;
  tripRoomKb: number;
  tripChatPerS: number;
  d1ReadsPerWrite: number;
  tripsPerR2Object: number;
};
export type Platform = {
  doSoftRequestsPerS: number;
  d1MaxGb: number;
  d1AccountGb: number;
  queueMessagesPerS: number;
  workersBaseUsd: number;
  workersRequestsIncluded: number;
  workersUsdPerMillionRequests: number;
  workersCpuMsIncluded: number;
  workersUsdPerMillionCpuMs: number;
  doRequestsIncluded: number;
  doUsdPerMillionRequests: number;
  doWebSocketMessagesPerRequest: number;
  doGbSIncluded: number;
  doUsdPerMillionGbS: number;
  doMemoryGb: number;
  sqlRowsWrittenIncluded: number;
  sqlUsdPerMillionRowsWritten: number;
  sqlRowsReadIncluded: number;
  sqlUsdPerMillionRowsRead: number;
  doStorageGbIncluded: number;
  doUsdPerGbMonth: number;
  d1StorageGbIncluded: number;
  d1UsdPerGbMonth: number;
  queueOpsIncluded: number;
  queueUsdPerMillionOps: number;
  queueOpsPerMessage: number;
  r2StorageGbIncluded: number;
  r2UsdPerGbMonth: number;
  r2ClassAIncluded: number;
  r2UsdPerMillionClassA: number;
  aePointsIncluded: number;
  aeUsdPerMillionPoints: number;
};
export type UnitCosts = Record<
  "http" | "d1" | "rpc" | "objectStart" | "queueMessage" | "alarm" | "socket" | "frameIn" | "frameOut",
  { medianS: number }
>;
/** The shape of bench/results/trip-floor.json that the model reads. */
export type TripFloor = {
  units: UnitCosts;
  counts: { perTrip: Record<string, number> };
  trip: { netS: number };
};
export type PathRow = { path: string; perS: number; us: number; cores: number };
export type Paths = {
  rows: PathRow[];
  totalCores: number;
  notifications: number;
  refreshes: number;
  reconnects: number;
  otherRequests: number;
};
export type ObjectRow = { object: string; eventsPerS: number; cores: number; limit: string };
export type D1Kind = { kind: string; writesPerS: number; gbPerDay: number; hotDays: number; hotGb: number };
export type D1Load = {
  kinds: D1Kind[];
  writesPerS: number;
  hotGb: number;
  byWrites: number;
  byStorage: number;
  shards: number;
};
export type Directory = { readsPerS: number; writesPerS: number };
export type LimitRow = { resource: string; load: number; limit: number; share: number };
export type CostLine = { meter: string; quantity: number; unit: string; usd: number; how: string };
export type Model = {
  unitsUs: Record<keyof UnitCosts, number>;
  floorUs: number;
  tripUs: number;
  tally: Tally;
  fleet: ReturnType<typeof fleet>;
  paths: Paths;
  objects: ObjectRow[];
  d1: D1Load;
  directory: Directory;
  limits: LimitRow[];
  cost: { lines: CostLine[]; totalUsd: number };
};

export const SCENARIO: Scenario;
export const MEASURED: Measured;
export const CODE: { fixSaveS: number; fixesPerBreadcrumbRow: number; ringCells: number };
export const PLATFORM: Platform;
export const ASSUMED: Assumed;
export const SECONDS_PER_MONTH: number;
export const BEGIN: string;
export const END: string;
export function tallyOf(perTrip: Record<string, number>): Tally;
export function floorPerTripUs(units: UnitCosts, perTrip: Record<string, number>): number;
export function fleet(
  s: Scenario,
  a: Assumed,
): {
  tripsInProgress: number;
  busyDrivers: number;
  availableDrivers: number;
  fixesPerS: number;
  tripFixesPerS: number;
  cellReportsPerS: number;
  activeRooms: number;
};
export function archiveFlushesPerS(messagesPerS: number, roomMessagesPerS: number, beatS: number): number;
export function model(tripFloor: TripFloor, s?: Scenario, a?: Assumed, m?: Measured): Model;
export function round2(x: number): number;
export function fmt(x: number): string;
export function render(md: Model): string;
export function replaceBlock(doc: string, body: string): string;
