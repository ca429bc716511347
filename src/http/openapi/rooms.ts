/**
 * @module http/openapi/rooms
 * Chat rooms (routes/rooms.ts): creating, listing, joining and membership, history and posting
 * (with replies), editing, deleting and reacting, and the room's socket and its fallbacks.
 */
import {
  AddMemberBody,
  ChatMessageResponse,
  CreateRoomBody,
  EditMessageBody,
  HistoryResponse,
  MessageResponse,
  PostMessageBody,
  ReactBody,
  RoomListResponse,
  RoomMembersResponse,
  RoomResponse,
} from "../../protocol/http";
import type { Operation } from "./operation";
import { roomStreamOperations } from "./streams";

export const roomOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/rooms",
    summary: "Create a chat room",
    auth: true,
    body: CreateRoomBody,
    status: 201,
    response: RoomResponse,
  },
  {
    method: "get",
    path: "/v1/rooms",
    summary: "Public rooms and the caller's private rooms",
    auth: true,
    status: 200,
    response: RoomListResponse,
  },
  {
    method: "post",
    path: "/v1/rooms/{id}/join",
    summary: "Join a public room",
    auth: true,
    status: 200,
    response: RoomResponse,
  },
  {
    method: "post",
    path: "/v1/rooms/{id}/members",
    summary: "Add a member (members only)",
    auth: true,
    body: AddMemberBody,
    status: 200,
    response: RoomResponse,
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/members",
    summary: "Members with their names (members only)",
    auth: true,
    status: 200,
    response: RoomMembersResponse,
  },
  {
    method: "get",
    path: "/v1/rooms/{id}/messages",
    summary: "History, newest first",
    auth: true,
    status: 200,
    response: HistoryResponse,
    query: ["before", "limit"],
  },
  {
    method: "post",
    path: "/v1/rooms/{id}/messages",
    summary: "Post a message, or with replyTo a reply",
    auth: true,
    body: PostMessageBody,
    status: 201,
    response: MessageResponse,
    idempotent: true,
  },
  {
    method: "patch",
    path: "/v1/rooms/{id}/messages/{seq}",
    summary: "Edit one's own message",
    auth: true,
    body: EditMessageBody,
    status: 200,
    response: ChatMessageResponse,
    idempotent: true,
  },
  {
    method: "delete",
    path: "/v1/rooms/{id}/messages/{seq}",
    summary: "Delete a message (one's own; the room's creator and operators any)",
    auth: true,
    status: 200,
    response: ChatMessageResponse,
    idempotent: true,
  },
  {
    method: "post",
    path: "/v1/rooms/{id}/messages/{seq}/reactions",
    summary: "Add, remove or toggle one's reaction to a message",
    auth: true,
    body: ReactBody,
    status: 200,
    response: ChatMessageResponse,
    idempotent: true,
  },
  ...roomStreamOperations("/v1/rooms/{id}", { socket: "Room socket", events: "Room events" }),
];
