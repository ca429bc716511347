/**
 * Test helpers for drivers with vehicles: a driver whose licence and vehicle an operator approved
 * through the public API (papers uploaded through their signed URLs, then reviewed).
 */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { call, registerUser, type TestUser, type WireJson } from "./api";
import { pdfBytes } from "./files";

let plates = 0;
/** A plate no other vehicle of the run has. */
export const newPlate = () => `TH ${String(Date.now() % 100000).padStart(5, "0")}${plates++}`;

export const vehicleBody = (overrides: Record<string, unknown> = {}) => ({
  make: "Toyota",
  model: "Prius",
  colour: "Silver",
  plate: newPlate(),
  seats: 4,
  tier: "economy",
  ...overrides,
});

async function uploadPaper(driver: TestUser, doc: { kind: string; vehicleId?: string }): Promise<WireJson> {
  const bytes = pdfBytes();
  const grant = await call("POST", "/v1/drivers/me/documents", {
    token: driver.token,
    body: { ...doc, filename: `${doc.kind}.pdf`, contentType: "application/pdf", size: bytes.length },
  });
  expect(grant.status).toBe(201);
  const res = await exports.default.fetch(grant.body.uploadUrl, {
    method: "PUT",
    headers: { "Content-Type": "application/pdf" },
    body: bytes,
  });
  expect(res.ok).toBe(true);
  return (await res.json<WireJson>()).document;
}

/** A new driver with an approved licence and an approved vehicle of `tier` (its papers approved first). */
export async function approvedDriverWithTier(admin: TestUser, tier: string, name = "Zora Quinn") {
  const driver = await registerUser("driver", name);
  const car = await call("POST", "/v1/drivers/me/vehicles", { token: driver.token, body: vehicleBody({ tier }) });
  expect(car.status).toBe(201);
  const vehicleId = car.body.vehicle.id;
  const papers = [
    await uploadPaper(driver, { kind: "licence" }),
    await uploadPaper(driver, { kind: "registration", vehicleId }),
    await uploadPaper(driver, { kind: "insurance", vehicleId }),
  ];
  const review = (what: string, id: string) =>
    call("POST", `/v1/admin/${what}/${id}/review`, { token: admin.token, body: { decision: "approve" } });
  for (const doc of papers) expect((await review("documents", doc.id)).status).toBe(200);
  expect((await review("vehicles", vehicleId)).status).toBe(200);
  return { driver, vehicle: car.body.vehicle };
}
