/**
 * @module http/openapi/auth
 * Accounts and sessions (routes/auth.ts): sign-up, sign-in, token refresh, logout and the caller.
 */
import {
  AuthResponse,
  LoginBody,
  LogoutBody,
  LogoutResponse,
  PasswordChangeBody,
  PasswordChangeResponse,
  MeBody,
  MeResponse,
  PhoneChangeResponse,
  PhoneVerifyBody,
  RefreshBody,
  RegisterBody,
} from "../../protocol/http";
import type { Operation } from "./operation";

export const authOperations: Operation[] = [
  {
    method: "post",
    path: "/v1/auth/register",
    summary: "Create an account",
    auth: false,
    body: RegisterBody,
    status: 201,
    response: AuthResponse,
  },
  {
    method: "post",
    path: "/v1/auth/login",
    summary: "Sign in",
    auth: false,
    body: LoginBody,
    status: 200,
    response: AuthResponse,
  },
  {
    method: "post",
    path: "/v1/auth/refresh",
    summary: "Trade a refresh token (once) for a new access token and refresh token; a reused one ends its session",
    auth: false,
    body: RefreshBody,
    status: 200,
    response: AuthResponse,
  },
  {
    method: "post",
    path: "/v1/auth/logout",
    summary: "End the caller's session, or with all: true every session of theirs",
    auth: true,
    body: LogoutBody,
    bodyOptional: true,
    status: 200,
    response: LogoutResponse,
  },
  {
    method: "post",
    path: "/v1/auth/password",
    summary:
      "Change the caller's password (the current one is checked and counted as a login attempt); " +
      "ends every other session of theirs and emails a security notice",
    auth: true,
    body: PasswordChangeBody,
    status: 200,
    response: PasswordChangeResponse,
  },
  {
    method: "get",
    path: "/v1/me",
    summary: "The caller, with their rating and phone number",
    auth: true,
    status: 200,
    response: MeResponse,
  },
  {
    method: "patch",
    path: "/v1/me",
    summary:
      "Set or remove the caller's phone number (E.164); a new number is unverified, gets no SMS, " +
      "and is texted a 6-digit code; a change emails a security notice",
    auth: true,
    body: MeBody,
    status: 200,
    response: PhoneChangeResponse,
  },
  {
    method: "post",
    path: "/v1/me/phone/verify",
    summary: "Confirm the caller's phone number with the code texted to it (a few guesses; it expires)",
    auth: true,
    body: PhoneVerifyBody,
    status: 200,
    response: MeResponse,
  },
];
