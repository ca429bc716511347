/**
 * @module http/openapi/rooms
 * Chat rooms (routes/rooms.ts): creating, listing, joining and membership, history and posting,
 * and the room's socket and its fallbacks.
 */
import {
  AddMemberBody,
  CreateRoomBody,
  HistoryResponse,
  MessageResponse,
  PostMessageBody,
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
    summary: "Post a message",
    auth: true,
    body: PostMessageBody,
    status: 201,
    response: MessageResponse,
    idempotent: true,
  },
  ...roomStreamOperations("/v1/rooms/{id}", { socket: "Room socket", events: "Room events" }),
];
