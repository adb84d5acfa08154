// The door: which refusal each error is, the same for REST and gRPC.
import { Forbidden, InvalidInput, InvalidToken, NoToken, Unavailable, UnknownOrder } from "./errors.js";
import { Refused, type Refusal } from "./problem.js";

export const internal: Refusal = {
  status: 500,
  slug: "internal",
  title: "Internal error",
  detail: "Something went wrong on our side. Try again later; if it persists, contact support.",
};

export function refusalOf(err: unknown): Refusal {
  if (err instanceof Refused) return err.refusal;
  if (err instanceof InvalidInput) return { status: 422, slug: "invalid-input", title: "Invalid input", detail: err.message };
  if (err instanceof UnknownOrder) return { status: 404, slug: "unknown-order", title: "Unknown order", detail: err.message };
  if (err instanceof Unavailable) {
    return {
      status: 503,
      slug: "unavailable",
      title: "My page cannot be shown now",
      detail: "The page store is not reachable. Try again in a moment.",
      retryAfter: 2,
    };
  }
  if (err instanceof NoToken) {
    return {
      status: 401,
      slug: "unauthenticated",
      title: "Authentication required",
      detail: "Send a bearer token: Authorization: Bearer <token> (in gRPC, the authorization metadata).",
      headers: { "WWW-Authenticate": 'Bearer realm="skmall"' },
    };
  }
  if (err instanceof InvalidToken) {
    return {
      status: 401,
      slug: "invalid-token",
      title: "Invalid token",
      detail: "The bearer token is malformed, expired, not yet valid, or not issued for this shop. Get a new one.",
      headers: { "WWW-Authenticate": 'Bearer realm="skmall", error="invalid_token", error_description="the token is not valid"' },
    };
  }
  if (err instanceof Forbidden) return { status: 403, slug: "forbidden", title: "Forbidden", detail: err.message };
  return internal;
}
