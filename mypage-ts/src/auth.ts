// Who is asking: bearer tokens (JWTs signed by a key of the shop's JWKS) for people, the app
// API token for the sidecar.
import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import { Forbidden, InvalidToken, NoToken } from "./errors.js";

export interface Principal {
  sub: string;
  roles: string[];
}

export const isAdmin = (p: Principal): boolean => p.roles.includes("admin");

export interface AuthSettings {
  jwks: string; // an http(s) URL or a file
  issuer: string;
  audience: string;
  algorithms: string[];
  leewayS: number;
}

const cacheMax = 10_000;
const cacheFor = 5 * 60 * 1000;

export class Guard {
  private readonly keys: JWTVerifyGetKey;
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly s: AuthSettings) {
    this.keys = /^https?:\/\//.test(s.jwks)
      ? createRemoteJWKSet(new URL(s.jwks))
      : createLocalJWKSet(JSON.parse(readFileSync(s.jwks, "utf8")));
  }

  // principal checks an Authorization header (or gRPC authorization metadata) and says whose
  // it is; NoToken or InvalidToken otherwise.
  async principal(authorization: string | undefined): Promise<Principal> {
    const token = bearer(authorization);
    const cached = this.cache.get(token);
    if (cached && cached.until > Date.now()) return cached.principal;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.s.issuer,
        audience: this.s.audience,
        algorithms: this.s.algorithms,
        clockTolerance: this.s.leewayS,
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      throw new InvalidToken(err instanceof Error ? err.message : String(err));
    }
    if (typeof payload.sub !== "string" || payload.sub === "") throw new InvalidToken("the token has no subject");
    const roles = payload.roles ?? [];
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === "string")) {
      throw new InvalidToken("the token's roles are not a list of names");
    }
    const principal = { sub: payload.sub, roles };
    if (this.cache.size >= cacheMax) this.cache.clear();
    this.cache.set(token, { principal, until: Math.min((payload.exp ?? 0) * 1000, Date.now() + cacheFor) });
    return principal;
  }

  // admin is principal, refused unless it has the admin role.
  async admin(authorization: string | undefined): Promise<Principal> {
    const p = await this.principal(authorization);
    if (!isAdmin(p)) throw new Forbidden("This needs the admin role.");
    return p;
  }
}

function bearer(authorization: string | undefined): string {
  if (!authorization) throw new NoToken();
  const space = authorization.indexOf(" ");
  if (space < 0 || authorization.slice(0, space).toLowerCase() !== "bearer") throw new NoToken();
  const token = authorization.slice(space + 1).trim();
  if (token === "") throw new NoToken();
  return token;
}

// fromSidecar reports whether a request carries the app API token only the sidecar has.
export function fromSidecar(header: string | string[] | undefined, appApiToken: string): boolean {
  if (typeof header !== "string") return false;
  const got = Buffer.from(header);
  const want = Buffer.from(appApiToken);
  return got.length === want.length && timingSafeEqual(got, want);
}
