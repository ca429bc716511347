/**
 * @module http/openapi/notifications
 * Push devices, the notification log and preferences (routes/notifications.ts).
 */
import {
  DeviceBody,
  DeviceListResponse,
  DeviceResponse,
  NotificationAckResponse,
  NotificationListResponse,
  PreferencesBody,
  PreferencesResponse,
  PushKeyResponse,
} from "../../protocol/notifications";
import type { Operation } from "./operation";

export const notificationOperations: Operation[] = [
  {
    method: "get",
    path: "/v1/devices/webpush-key",
    summary: "The VAPID public key for Web Push subscriptions (null when off)",
    auth: true,
    status: 200,
    response: PushKeyResponse,
  },
  {
    method: "post",
    path: "/v1/devices",
    summary:
      "Register a Web Push subscription, a webhook (its secret is shown once) or an app's FCM token; " +
      "a push endpoint or FCM token registered to another account is 409 conflict",
    auth: true,
    body: DeviceBody,
    status: 201,
    response: DeviceResponse,
  },
  {
    method: "get",
    path: "/v1/devices",
    summary: "The caller's devices",
    auth: true,
    status: 200,
    response: DeviceListResponse,
  },
  {
    method: "delete",
    path: "/v1/devices/{id}",
    summary: "Remove one of the caller's devices",
    auth: true,
    status: 204,
  },
  {
    method: "get",
    path: "/v1/notifications",
    summary:
      "The caller's notifications with delivery status and each channel's attempts and outcome " +
      "(fcm, webpush, webhook, email, sms), newest first",
    auth: true,
    status: 200,
    response: NotificationListResponse,
    query: ["limit"],
  },
  {
    method: "post",
    path: "/v1/notifications/{id}/ack",
    summary:
      "The caller's app showed this notification (idempotent: the first time is kept); " +
      "another user's notification is 404",
    auth: true,
    status: 200,
    response: NotificationAckResponse,
  },
  {
    method: "get",
    path: "/v1/me/preferences",
    summary: "The caller's notification preferences",
    auth: true,
    status: 200,
    response: PreferencesResponse,
  },
  {
    method: "patch",
    path: "/v1/me/preferences",
    summary:
      "Mute notification types (logged, sent on no channel) and channels (passed over), and set quiet hours " +
      "(chat and receipts wait until they end); a field left out stays; muting security notices is 400",
    auth: true,
    body: PreferencesBody,
    status: 200,
    response: PreferencesResponse,
  },
];
