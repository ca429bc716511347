/**
 * Operators for the worker tests: an account promoted in D1 the way `npm run admin -- create`
 * does it (registration never makes one), then signed in for a token that says `admin`.
 */
import { env } from "cloudflare:workers";
import { call, registerUser, type TestUser } from "./api";

export async function registerAdmin(name = "Operator"): Promise<TestUser> {
  const account = await registerUser("rider", name, { funds: 0 });
  await env.DB.prepare(`UPDATE users SET role = 'admin' WHERE id = ?`).bind(account.user.id).run();
  const login = await call("POST", "/v1/auth/login", { body: { email: account.user.email, password: "password123" } });
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return login.body as TestUser;
}
