/**
 * @module http/openapi
 * The OpenAPI 3.1 document served at /v1/openapi.json, generated from the same zod schemas
 * the routes validate with, so it cannot drift from what the service accepts. Each path group
 * lists the operations of one file of routes/; this module puts them in order and renders them.
 */
import { adminOperations } from "./admin";
import { adminListOperations } from "./admin-lists";
import { attachmentOperations } from "./attachments";
import { authOperations } from "./auth";
import { securitySchemes } from "./components";
import { driverOperations } from "./drivers";
import { mapOperations } from "./map";
import { notificationOperations } from "./notifications";
import type { Operation } from "./operation";
import { opsOperations } from "./ops";
import { pathsOf } from "./paths";
import { presenceOperations } from "./presence";
import { adminPayoutOperations, payoutAccountOperations, payoutOperations } from "./payouts";
import { roomOperations } from "./rooms";
import { serviceOperations } from "./service";
import { safetyOperations } from "./safety";
import { apiKeyOperations, serverOperations } from "./server-api";
import { tripOperations } from "./trips";
import { adminVehicleOperations, driverPhotoOperations, vehicleOperations } from "./vehicles";
import { paymentWebhookOperations, walletOperations } from "./wallet";

/**
 * The order of the document's paths: app.ts's own routes, then the route groups in the order app.ts
 * mounts them, but for the provider's webhook (routes/wallet.ts), which the document lists last.
 */
export const operations: Operation[] = [
  ...serviceOperations,
  ...authOperations,
  ...roomOperations,
  ...attachmentOperations,
  ...presenceOperations,
  ...driverOperations,
  ...vehicleOperations,
  ...payoutAccountOperations,
  ...tripOperations,
  ...mapOperations,
  ...safetyOperations,
  ...driverPhotoOperations,
  ...notificationOperations,
  ...walletOperations,
  ...payoutOperations,
  ...opsOperations,
  ...adminOperations,
  ...adminListOperations,
  ...adminPayoutOperations,
  ...adminVehicleOperations,
  ...apiKeyOperations,
  ...serverOperations,
  ...paymentWebhookOperations,
];

export function openApiDocument(version: string) {
  return {
    openapi: "3.1.0",
    info: { title: "ridewire", version },
    components: { securitySchemes },
    paths: pathsOf(operations),
  };
}
