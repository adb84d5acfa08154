// mypage's gRPC API (contracts/proto/skmall/mypage/v1/mypage.proto): the same use case and the
// same refusals as REST, a refusal's problem as a google.rpc.ErrorInfo (and RetryInfo) in the
// status details; standard health and reflection.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProto } from "grpc-health-check";
import protobuf from "protobufjs";
import type { MyPage } from "./app.js";
import type { Guard } from "./auth.js";
import { refusalOf } from "./door.js";
import { log, inTrace } from "./log.js";
import { grpcDuration, grpcRequests } from "./metrics.js";
import { problemBase, type Refusal } from "./problem.js";
import { parseInstant } from "./time.js";
import { newTrace, traceOf } from "./trace.js";

const listMethod = "/skmall.mypage.v1.MyPageService/ListPageOrders";
const loadOptions = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

// google.rpc.Status and the details it carries, for grpc-status-details-bin.
const rpc = protobuf.Root.fromJSON(<protobuf.INamespace>{
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } } },
            Duration: { fields: { seconds: { type: "int64", id: 1 }, nanos: { type: "int32", id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: "int32", id: 1 },
                message: { type: "string", id: 2 },
                details: { rule: "repeated", type: "google.protobuf.Any", id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: "string", id: 1 },
                domain: { type: "string", id: 2 },
                metadata: { keyType: "string", type: "string", id: 3 },
              },
            },
            RetryInfo: { fields: { retry_delay: { type: "google.protobuf.Duration", id: 1 } } },
          },
        },
      },
    },
  },
});
const [Status, ErrorInfo, RetryInfo, Any] = ["google.rpc.Status", "google.rpc.ErrorInfo", "google.rpc.RetryInfo", "google.protobuf.Any"].map((n) =>
  rpc.lookupType(n),
);

const any = (type: protobuf.Type, value: Record<string, unknown>) =>
  Any.create({ type_url: `type.googleapis.com/${type.fullName.slice(1)}`, value: type.encode(type.create(value)).finish() });

// codeOf is the gRPC code of a refusal's HTTP status.
function codeOf(status: number): grpc.status {
  const codes: Record<number, grpc.status> = {
    400: grpc.status.INVALID_ARGUMENT,
    422: grpc.status.INVALID_ARGUMENT,
    401: grpc.status.UNAUTHENTICATED,
    403: grpc.status.PERMISSION_DENIED,
    404: grpc.status.NOT_FOUND,
    409: grpc.status.FAILED_PRECONDITION,
    429: grpc.status.RESOURCE_EXHAUSTED,
    503: grpc.status.UNAVAILABLE,
  };
  return codes[status] ?? grpc.status.INTERNAL;
}

// The codes' names as the metrics of every SK MALL service label them (PermissionDenied).
const codeNames = Object.fromEntries(
  Object.entries(grpc.status)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v, k.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())]),
) as Record<number, string>;
codeNames[grpc.status.CANCELLED] = "Canceled";

function refusal(r: Refusal): Partial<grpc.StatusObject> {
  const code = codeOf(r.status);
  const details = [any(ErrorInfo, { reason: r.slug.toUpperCase().replace(/-/g, "_"), domain: "skmall.example", metadata: { type: problemBase + r.slug } })];
  if (r.retryAfter !== undefined) details.push(any(RetryInfo, { retry_delay: { seconds: r.retryAfter, nanos: 0 } }));
  const metadata = new grpc.Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(Status.encode(Status.create({ code, message: r.detail ?? r.title, details })).finish()));
  return { code, details: r.detail ?? r.title, metadata };
}

function timestamp(text: string) {
  const t = parseInstant(text);
  return t ? { seconds: String(t.seconds), nanos: t.nanos } : null;
}

export interface GrpcServer {
  start(port: number): Promise<void>;
  stop(drainMs: number): Promise<void>;
}

export function grpcServer(app: MyPage, guard: Guard, protoFile: string): GrpcServer {
  const mypageDef = protoLoader.loadSync(protoFile, loadOptions);
  const healthDef = protoLoader.loadSync(healthProto, loadOptions);
  const pkg = grpc.loadPackageDefinition(mypageDef) as unknown as {
    skmall: { mypage: { v1: { MyPageService: { service: grpc.ServiceDefinition } } } };
  };
  const server = new grpc.Server();
  const health = new HealthImplementation({ "": "SERVING" });
  health.addToServer(server);
  new ReflectionService({ ...mypageDef, ...healthDef }).addToServer(server);

  server.addService(pkg.skmall.mypage.v1.MyPageService.service, {
    ListPageOrders: (call: grpc.ServerUnaryCall<{ customerId: string; pageToken: string }, unknown>, done: grpc.sendUnaryData<unknown>) => {
      const started = performance.now();
      const parents = call.metadata.get("traceparent");
      const trace = (parents.length === 1 ? traceOf(String(parents[0])) : undefined) ?? newTrace();
      void inTrace(trace, async () => {
        let code = grpc.status.OK;
        try {
          const authorization = call.metadata.get("authorization").map(String).join(",");
          const who = await guard.principal(authorization || undefined);
          const { orders, next } = await app.page(who, call.request.customerId, call.request.pageToken);
          done(null, {
            customerId: call.request.customerId,
            orders: orders.map((o) => ({ ...o, createTime: timestamp(o.createdAt), updateTime: timestamp(o.updatedAt) })),
            nextPageToken: next,
          });
        } catch (err) {
          const r = refusalOf(err);
          const status = refusal(r);
          code = status.code!;
          if (r.status >= 500) log.error("call failed", { method: listMethod, code: codeNames[code], err });
          if (r.slug === "invalid-token") log.info("token refused", { method: listMethod, err });
          done(status);
        }
        grpcRequests.inc({ method: listMethod, code: codeNames[code] });
        grpcDuration.observe({ method: listMethod }, (performance.now() - started) / 1000);
      }).catch((err) => log.error("call failed", { method: listMethod, err }));
    },
  });

  return {
    start: (port) =>
      new Promise((resolve, reject) =>
        server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
      ),
    stop: (drainMs) =>
      new Promise((resolve) => {
        health.setStatus("", "NOT_SERVING");
        const hard = setTimeout(() => server.forceShutdown(), drainMs);
        server.tryShutdown(() => {
          clearTimeout(hard);
          resolve();
        });
      }),
  };
}
