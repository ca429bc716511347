// Drivers and vehicles (issue 21), through the public API: a driver registers a vehicle and
// uploads their licence and the vehicle's registration and insurance through signed upload URLs
// (the attachments' machinery); an operator approves or rejects each with a reason; only an
// approved driver with an approved vehicle goes online where approval is required ("approval
// town" in vitest.config.ts; the test world opts out); and the rider sees the driver's first
// name, rating and car from acceptance on, never before. Hostile cases: another driver's
// vehicle, a rider registering one, a driver reviewing, someone else's document, bad values.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isRidewireError, RidewireClient } from "@ridewire/client";
import { call, connectOk, registerUser, type TestUser, type WireJson } from "../helpers/api";
import { registerAdmin } from "../helpers/admin";
import {
  area,
  driverAction,
  expectError,
  getTrip,
  inCell,
  nextOffer,
  offset,
  requestTrip,
  waitFor,
} from "../helpers/dispatch";
import { jpegBytes, pdfBytes, pngBytes } from "../helpers/files";

/** A point in approval town (lng 80 to 100), in test area `n`. */
const town = (n: number) => area(n, 90);

let plates = 0;
/** A plate no other test in this file uses. */
const newPlate = () => `VT ${String(Date.now() % 100000).padStart(5, "0")}${plates++}`;

const vehicleBody = (overrides: Record<string, unknown> = {}) => ({
  make: "Toyota",
  model: "Prius",
  colour: "Silver",
  plate: newPlate(),
  seats: 4,
  tier: "economy",
  ...overrides,
});

const register = (driver: TestUser, body: unknown) =>
  call("POST", "/v1/drivers/me/vehicles", { token: driver.token, body });

async function put(url: string, bytes: Uint8Array, contentType: string) {
  const res = await exports.default.fetch(url, {
    method: "PUT",
    headers: { "Content-Type": contentType },
    body: bytes,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as WireJson };
}

/** Asks for a document's upload URL and PUTs `bytes` to it; answers the PUT and the grant. */
async function uploadDocument(
  driver: TestUser,
  doc: { kind: string; vehicleId?: string },
  bytes: Uint8Array = pdfBytes(),
  contentType = "application/pdf",
) {
  const grant = await call("POST", "/v1/drivers/me/documents", {
    token: driver.token,
    body: { ...doc, filename: `${doc.kind}.pdf`, contentType, size: bytes.length },
  });
  expect(grant.status).toBe(201);
  return { ...(await put(grant.body.uploadUrl, bytes, contentType)), grant: grant.body };
}

const review = (admin: TestUser, what: "vehicles" | "documents", id: string, body: unknown) =>
  call("POST", `/v1/admin/${what}/${id}/review`, { token: admin.token, body });

const goOnline = (driver: TestUser, location: { lat: number; lng: number }) =>
  call("POST", "/v1/drivers/me/online", { token: driver.token, body: { location } });

const download = (user: TestUser, path: string) =>
  exports.default.fetch(`http://ridewire.test${path}`, { headers: { Authorization: `Bearer ${user.token}` } });

/** A driver with an approved licence and an approved vehicle (its papers approved first). */
async function approvedDriver(admin: TestUser, name = "Zora Quinn", vehicle = vehicleBody()) {
  const driver = await registerUser("driver", name);
  const car = await register(driver, vehicle);
  expect(car.status).toBe(201);
  const licence = await uploadDocument(driver, { kind: "licence" });
  const registration = await uploadDocument(driver, { kind: "registration", vehicleId: car.body.vehicle.id });
  const insurance = await uploadDocument(driver, { kind: "insurance", vehicleId: car.body.vehicle.id });
  for (const doc of [licence, registration, insurance])
    expect((await review(admin, "documents", doc.body.document.id, { decision: "approve" })).status).toBe(200);
  expect((await review(admin, "vehicles", car.body.vehicle.id, { decision: "approve" })).status).toBe(200);
  return { driver, vehicle: car.body.vehicle, licence: licence.body.document };
}

describe("registering a vehicle", () => {
  it("stores it pending review, cleaned, and lists it for its driver only", async () => {
    const driver = await registerUser("driver");
    const other = await registerUser("driver");
    const res = await register(driver, vehicleBody({ make: "  Honda ", colour: "Dark  blue", plate: " ab-12  cd " }));
    expect(res.status).toBe(201);
    expect(res.body.vehicle).toMatchObject({
      driverId: driver.user.id,
      make: "Honda",
      colour: "Dark blue",
      plate: "AB-12 CD",
      status: "pending",
      reviewReason: null,
    });
    const mine = await call("GET", "/v1/drivers/me/vehicles", { token: driver.token });
    expect(mine.body.vehicles.map((v: WireJson) => v.id)).toEqual([res.body.vehicle.id]);
    expect((await call("GET", "/v1/drivers/me/vehicles", { token: other.token })).body.vehicles).toEqual([]);
  });

  it("refuses bad values, an unknown tier, a rider, and a plate another driver has", async () => {
    const driver = await registerUser("driver");
    for (const bad of [
      { seats: 0 },
      { seats: 9 },
      { seats: 2.5 },
      { seats: "4" },
      { plate: "" },
      { plate: "A" },
      { plate: "AB<script>" },
      { plate: "X".repeat(13) },
      { make: "" },
      { colour: "x".repeat(31) },
      { tier: "limo" },
      { tier: "ECONOMY" },
    ])
      expectError(await register(driver, vehicleBody(bad)), 400, "invalid_request");

    const rider = await registerUser("rider");
    expectError(await register(rider, vehicleBody()), 403, "forbidden");
    expectError(await call("POST", "/v1/drivers/me/vehicles", { body: vehicleBody() }), 401, "unauthorized");

    const plate = newPlate();
    expect((await register(driver, vehicleBody({ plate }))).status).toBe(201);
    const thief = await registerUser("driver");
    // The same plate written another way is the same plate.
    expectError(await register(thief, vehicleBody({ plate: plate.replace(" ", "-") })), 409, "plate_taken");
  });

  it("caps a driver's vehicles that are not rejected", async () => {
    const driver = await registerUser("driver");
    for (let i = 0; i < 3; i++) expect((await register(driver, vehicleBody())).status).toBe(201);
    expectError(await register(driver, vehicleBody()), 409, "too_many_vehicles");
  });
});

describe("documents", () => {
  it("uploads through a signed URL once, shows its review status, and lets the driver download it", async () => {
    const driver = await registerUser("driver");
    const png = pngBytes(40, 30);
    const { status, body, grant } = await uploadDocument(driver, { kind: "licence" }, png, "image/png");
    expect(status).toBe(201);
    expect(grant.document.status).toBe("awaiting_upload");
    expect(grant.uploadUrl).toMatch(/^http:\/\/ridewire\.test\/v1\/uploads\//);
    expect(body.document).toMatchObject({ kind: "licence", status: "pending", size: png.length, vehicleId: null });
    expect(body.document.key).toBeUndefined();
    // The URL is spent.
    expectError(await put(grant.uploadUrl, png, "image/png"), 409, "conflict");

    const listed = await call("GET", "/v1/drivers/me/documents", { token: driver.token });
    expect(listed.body.documents).toEqual([body.document]);
    const file = await download(driver, `/v1/drivers/me/documents/${body.document.id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Type")).toBe("image/png");
    expect(file.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(png);
  });

  it("refuses files that lie about their type, too large or of a wrong type, or for another's vehicle", async () => {
    const driver = await registerUser("driver");
    const lying = await uploadDocument(driver, { kind: "licence" }, jpegBytes(4, 4), "application/pdf");
    expectError(lying, 422, "upload_rejected");
    const after = await call("GET", "/v1/drivers/me/documents", { token: driver.token });
    expect(after.body.documents[0]).toMatchObject({ id: lying.grant.document.id, status: "upload_failed" });
    // Refused bytes are gone: nobody downloads them.
    const gone = await download(driver, `/v1/drivers/me/documents/${lying.grant.document.id}/file`);
    expect(gone.status).toBe(404);

    const ask = (body: Record<string, unknown>) =>
      call("POST", "/v1/drivers/me/documents", {
        token: driver.token,
        body: { kind: "licence", filename: "l.pdf", contentType: "application/pdf", size: 100, ...body },
      });
    expectError(await ask({ size: 10_485_761 }), 413, "payload_too_large");
    expectError(await ask({ contentType: "text/plain" }), 400, "invalid_request");
    expectError(await ask({ contentType: "image/gif" }), 400, "invalid_request");
    expectError(await ask({ kind: "passport" }), 400, "invalid_request");
    // A licence names no vehicle; a registration names one.
    expectError(await ask({ vehicleId: "veh_x" }), 400, "invalid_request");
    expectError(await ask({ kind: "registration" }), 400, "invalid_request");

    const owner = await registerUser("driver");
    const car = await register(owner, vehicleBody());
    expectError(await ask({ kind: "registration", vehicleId: car.body.vehicle.id }), 404, "not_found");
    expectError(await ask({ kind: "insurance", vehicleId: "veh_nothere" }), 404, "not_found");

    // A body longer than the size the grant was made for.
    const grant = await ask({ size: 10 });
    expectError(await put(grant.body.uploadUrl, pdfBytes(), "application/pdf"), 413, "payload_too_large");
  });

  it("lets nobody but its driver and operators read a document", async () => {
    const driver = await registerUser("driver");
    const { body } = await uploadDocument(driver, { kind: "licence" });
    const id = body.document.id;
    const otherDriver = await registerUser("driver");
    const rider = await registerUser("rider");
    expect((await download(otherDriver, `/v1/drivers/me/documents/${id}/file`)).status).toBe(404);
    expect((await download(rider, `/v1/drivers/me/documents/${id}/file`)).status).toBe(403);
    for (const user of [driver, otherDriver, rider])
      expect((await download(user, `/v1/admin/documents/${id}/file`)).status).toBe(403);
    const admin = await registerAdmin();
    const file = await download(admin, `/v1/admin/documents/${id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Disposition")).toMatch(/^attachment; filename="licence\.pdf"/);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(pdfBytes());
    const theirs = await call("GET", `/v1/admin/drivers/${driver.user.id}/vehicles`, { token: admin.token });
    expect(theirs.body).toEqual({ vehicles: [], documents: [body.document] });
  });
});

describe("review", () => {
  it("approves a vehicle only once its papers are approved; a rejection needs and shows a reason", async () => {
    const admin = await registerAdmin();
    const driver = await registerUser("driver");
    const car = (await register(driver, vehicleBody())).body.vehicle;
    const registration = await uploadDocument(driver, { kind: "registration", vehicleId: car.id });
    const insurance = await uploadDocument(driver, { kind: "insurance", vehicleId: car.id });

    const early = await review(admin, "vehicles", car.id, { decision: "approve" });
    expectError(early, 409, "documents_not_approved");
    expect(early.body.error.details).toEqual({ missing: ["registration", "insurance"] });

    expectError(
      await review(admin, "documents", insurance.body.document.id, { decision: "reject" }),
      400,
      "invalid_request",
    );
    const rejected = await review(admin, "documents", insurance.body.document.id, {
      decision: "reject",
      reason: "  the policy has expired ",
    });
    expect(rejected.body.document).toMatchObject({ status: "rejected", reviewReason: "the policy has expired" });
    await review(admin, "documents", registration.body.document.id, { decision: "approve" });
    expect((await review(admin, "vehicles", car.id, { decision: "approve" })).body.error.details).toEqual({
      missing: ["insurance"],
    });
    const mine = await call("GET", "/v1/drivers/me/documents", { token: driver.token });
    expect(mine.body.documents.find((d: WireJson) => d.id === insurance.body.document.id)).toMatchObject({
      status: "rejected",
      reviewReason: "the policy has expired",
    });

    const again = await uploadDocument(driver, { kind: "insurance", vehicleId: car.id });
    await review(admin, "documents", again.body.document.id, { decision: "approve" });
    const approved = await review(admin, "vehicles", car.id, { decision: "approve", reason: "looks right" });
    expect(approved.body.vehicle).toMatchObject({ status: "approved", reviewReason: "looks right" });

    const audit = await call("GET", `/v1/admin/audit?targetKind=vehicle&targetId=${car.id}`, { token: admin.token });
    expect(audit.status).toBe(200);
    expect(audit.body.records.map((r: WireJson) => r.action)).toEqual(["vehicle.approve"]);
  });

  it("is for operators only, and 404s or 409s for what cannot be reviewed", async () => {
    const admin = await registerAdmin();
    const driver = await registerUser("driver");
    const car = (await register(driver, vehicleBody())).body.vehicle;
    const doc = await uploadDocument(driver, { kind: "registration", vehicleId: car.id });
    for (const user of [driver, await registerUser("rider")]) {
      expectError(await review(user, "vehicles", car.id, { decision: "approve" }), 403, "forbidden");
      expectError(await review(user, "documents", doc.body.document.id, { decision: "approve" }), 403, "forbidden");
    }
    expectError(await review(admin, "vehicles", "veh_nothere", { decision: "reject", reason: "x" }), 404, "not_found");
    expectError(await review(admin, "documents", "doc_nothere", { decision: "approve" }), 404, "not_found");
    expectError(await review(admin, "documents", doc.body.document.id, { decision: "maybe" }), 400, "invalid_request");
    // A document whose bytes never came cannot be approved.
    const waiting = await call("POST", "/v1/drivers/me/documents", {
      token: driver.token,
      body: { kind: "licence", filename: "l.pdf", contentType: "application/pdf", size: 10 },
    });
    expectError(await review(admin, "documents", waiting.body.document.id, { decision: "approve" }), 409, "conflict");
    expect((await download(admin, `/v1/admin/documents/${waiting.body.document.id}/file`)).status).toBe(404);
  });
});

describe("going online", () => {
  it("refuses an unapproved driver where approval is required, saying what is missing", async () => {
    const admin = await registerAdmin();
    const driver = await registerUser("driver");
    const res = await goOnline(driver, town(1));
    expectError(res, 403, "driver_not_approved");
    expect(res.body.error.details).toEqual({ missing: ["licence", "vehicle"] });
    expect((await call("GET", "/v1/drivers/me/approval", { token: driver.token })).body).toEqual({
      approved: false,
      missing: ["licence", "vehicle"],
      vehicle: null,
    });

    // A licence approved, a vehicle still pending: the vehicle is missing.
    const licence = await uploadDocument(driver, { kind: "licence" });
    await review(admin, "documents", licence.body.document.id, { decision: "approve" });
    const car = (await register(driver, vehicleBody())).body.vehicle;
    expect((await goOnline(driver, town(1))).body.error.details).toEqual({ missing: ["vehicle"] });
    expect(await inCell(town(1), driver.user.id)).toBe(false);
    // Where approval is not required (the test world), the same driver goes online.
    expect((await goOnline(driver, area(2))).status).toBe(200);
    expect(car.status).toBe("pending");
  });

  it("lets an approved driver online, and takes them off where required once a paper is rejected", async () => {
    const admin = await registerAdmin();
    const { driver, licence, vehicle } = await approvedDriver(admin);
    const approval = await call("GET", "/v1/drivers/me/approval", { token: driver.token });
    expect(approval.body).toMatchObject({ approved: true, missing: [], vehicle: { id: vehicle.id } });
    const at = town(3);
    const online = await goOnline(driver, at);
    expect(online.status).toBe(200);
    expect(online.body.driver.status).toBe("available");
    await waitFor("the driver in the geo index", async () => ((await inCell(at, driver.user.id)) ? true : undefined));

    await review(admin, "documents", licence.id, { decision: "reject", reason: "licence suspended" });
    expect((await call("GET", "/v1/drivers/me", { token: driver.token })).body.driver.status).toBe("offline");
    await waitFor("the driver out of the geo index", async () =>
      (await inCell(at, driver.user.id)) ? undefined : true,
    );
    const refused = await goOnline(driver, at);
    expectError(refused, 403, "driver_not_approved");
    expect(refused.body.error.details).toEqual({ missing: ["licence"] });
  });

  it("leaves a driver online where approval is not required when a paper is rejected", async () => {
    const admin = await registerAdmin();
    const { driver, licence } = await approvedDriver(admin);
    expect((await goOnline(driver, area(4))).status).toBe(200);
    await review(admin, "documents", licence.id, { decision: "reject", reason: "blurred" });
    expect((await call("GET", "/v1/drivers/me", { token: driver.token })).body.driver.status).toBe("available");
  });
});

describe("what the rider sees of the driver", () => {
  it("shows the driver's first name, rating and car from acceptance on, never before", async () => {
    const admin = await registerAdmin();
    const car = vehicleBody({ make: "Skoda", model: "Octavia", colour: "White" });
    const { driver } = await approvedDriver(admin, "Ines Marlow", car);
    const pickup = town(5);
    expect((await goOnline(driver, pickup)).status).toBe(200);
    const socket = await connectOk("/v1/drivers/me/ws", driver.token);
    await socket.nextOfType("welcome");
    await waitFor("the driver in the geo index", async () =>
      (await inCell(pickup, driver.user.id)) ? true : undefined,
    );

    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    expect(trip.driver).toBeUndefined();
    const offer = await socket.next((f) => f.type === "offer" && f.tripId === trip.id);
    expect(JSON.stringify(offer)).not.toContain(car.plate);
    // Offered is not accepted: the rider still sees no driver.
    const offered = await getTrip(rider, trip.id);
    expect(offered.driver).toBeUndefined();
    const riderWs = await connectOk(`/v1/trips/${trip.id}/ws`, rider.token);
    await riderWs.nextOfType("welcome");

    const accepted = await driverAction(driver, trip.id, "accept");
    expect(accepted.status).toBe(200);
    const card = {
      firstName: "Ines",
      rating: null,
      vehicle: { make: "Skoda", model: "Octavia", colour: "White", plate: car.plate, tier: "economy" },
      photo: false,
    };
    expect((await getTrip(rider, trip.id)).driver).toEqual(card);
    expect((await riderWs.next((f) => f.type === "status" && f.trip.status === "accepted")).trip.driver).toEqual(card);

    // A share link shows the first name and the car, nothing else of the driver.
    const share = await call("POST", `/v1/trips/${trip.id}/share`, { token: rider.token });
    const shared = await call("GET", `/v1/shared/${encodeURIComponent(share.body.share.token)}`);
    expect(shared.body.trip.driver).toEqual({ firstName: "Ines", vehicle: card.vehicle });
    riderWs.close();
    socket.close();
  });

  it("shows a driver online where approval is not required, with no car on record", async () => {
    const driver = await registerUser("driver", "Theo Vance");
    const pickup = area(6);
    expect((await goOnline(driver, pickup)).status).toBe(200);
    const socket = await connectOk("/v1/drivers/me/ws", driver.token);
    await socket.nextOfType("welcome");
    await waitFor("the driver in the geo index", async () =>
      (await inCell(pickup, driver.user.id)) ? true : undefined,
    );
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer({ ...driver, socket }, trip.id);
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    expect((await getTrip(rider, trip.id)).driver).toEqual({
      firstName: "Theo",
      rating: null,
      vehicle: null,
      photo: false,
    });
    socket.close();
  });
});

describe("the driver's photo", () => {
  it("shows the trip's parties the driver's approved photo from acceptance on, nobody else, never a PDF", async () => {
    const admin = await registerAdmin();
    const { driver } = await approvedDriver(admin, "Pia Lund");
    const jpeg = jpegBytes(30, 40);
    expectError(
      await call("POST", "/v1/drivers/me/documents", {
        token: driver.token,
        body: { kind: "photo", filename: "me.pdf", contentType: "application/pdf", size: 100 },
      }),
      400,
      "invalid_request",
    );
    const photo = await uploadDocument(driver, { kind: "photo" }, jpeg, "image/jpeg");
    expect(photo.status).toBe(201);
    await review(admin, "documents", photo.body.document.id, { decision: "approve" });

    const pickup = town(9);
    expect((await goOnline(driver, pickup)).status).toBe(200);
    const socket = await connectOk("/v1/drivers/me/ws", driver.token);
    await socket.nextOfType("welcome");
    await waitFor("the driver in the geo index", async () =>
      (await inCell(pickup, driver.user.id)) ? true : undefined,
    );
    const rider = await registerUser("rider");
    const trip = await requestTrip(rider, pickup, offset(pickup, 3));
    await nextOffer({ ...driver, socket }, trip.id);
    // Offered is not accepted: no photo yet.
    expect((await download(rider, `/v1/trips/${trip.id}/driver-photo`)).status).toBe(404);
    expect((await driverAction(driver, trip.id, "accept")).status).toBe(200);
    expect((await getTrip(rider, trip.id)).driver).toMatchObject({ firstName: "Pia", photo: true });
    const file = await download(rider, `/v1/trips/${trip.id}/driver-photo`);
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Type")).toBe("image/jpeg");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(jpeg);
    const stranger = await registerUser("rider");
    expect((await download(stranger, `/v1/trips/${trip.id}/driver-photo`)).status).toBe(403);

    // Rejected since: the trip shows it no more.
    await review(admin, "documents", photo.body.document.id, { decision: "reject", reason: "not a face" });
    expect((await download(rider, `/v1/trips/${trip.id}/driver-photo`)).status).toBe(404);
    socket.close();
  });
});

describe("the client SDK", () => {
  const sdk = (user: TestUser) =>
    new RidewireClient({
      baseUrl: "http://ridewire.test",
      token: user.token,
      fetch: (input, init) => exports.default.fetch(input, init),
    });

  it("registers a vehicle, uploads its papers, and reviews them as an operator", async () => {
    const driver = sdk(await registerUser("driver"));
    const admin = sdk(await registerAdmin());
    const vehicle = await driver.registerVehicle(vehicleBody({ tier: "comfort" }));
    expect(await driver.vehicles()).toEqual([vehicle]);
    const png = pngBytes(8, 8);
    const licence = await driver.uploadDocument({
      kind: "licence",
      filename: "me.png",
      contentType: "image/png",
      data: png,
    });
    expect(licence).toMatchObject({ kind: "licence", status: "pending", size: png.length });
    const papers = [];
    for (const kind of ["registration", "insurance"] as const)
      papers.push(
        await driver.uploadDocument({
          kind,
          vehicleId: vehicle.id,
          filename: `${kind}.pdf`,
          contentType: "application/pdf",
          data: pdfBytes(),
        }),
      );
    expect(new Uint8Array(await (await driver.downloadDocument(licence.id)).arrayBuffer())).toEqual(png);
    expect(new Uint8Array(await (await admin.downloadDocument(licence.id, { admin: true })).arrayBuffer())).toEqual(
      png,
    );

    const early = await admin.reviewVehicle(vehicle.id, { decision: "approve" }).catch((err: unknown) => err);
    expect(isRidewireError(early) && early.code).toBe("documents_not_approved");
    for (const doc of [licence, ...papers]) await admin.reviewDocument(doc.id, { decision: "approve" });
    expect(await admin.reviewVehicle(vehicle.id, { decision: "approve" })).toMatchObject({ status: "approved" });
    expect(await driver.approval()).toMatchObject({ approved: true, missing: [], vehicle: { id: vehicle.id } });
    const file = await admin.driverFile(vehicle.driverId);
    expect(file.documents.map((d) => d.status)).toEqual(["approved", "approved", "approved"]);
    expect(await driver.goOnline(town(8))).toMatchObject({ status: "available" });
  });
});
