// The metrics every SK MALL service exposes on /metrics, by the names the dashboard and the
// alerts read (the scraper adds the service label).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const buckets = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const httpRequests = new Counter({
  name: "http_requests_total",
  help: "HTTP requests served, by route, method and status code.",
  labelNames: ["route", "method", "code"],
  registers: [registry],
});
export const httpDuration = new Histogram({
  name: "http_request_duration_seconds",
  help: "How long HTTP requests took, by route and method.",
  labelNames: ["route", "method"],
  buckets,
  registers: [registry],
});
export const eventsHandled = new Counter({
  name: "events_handled_total",
  help: "Events delivered to the service, by topic, type and outcome (success, ignored, retry, deadletter).",
  labelNames: ["topic", "type", "outcome"],
  registers: [registry],
});
export const eventDuration = new Histogram({
  name: "event_handling_seconds",
  help: "How long handling an event took, by topic.",
  labelNames: ["topic"],
  buckets,
  registers: [registry],
});
export const deadLettersParked = new Gauge({
  name: "deadletters_parked",
  help: "Dead letters kept for a replay.",
  registers: [registry],
});
export const deadLettersHandledOnArrival = new Counter({
  name: "deadletters_handled_on_arrival_total",
  help: "Dead letters that were handled when they arrived on the dead-letter topic, and so not parked.",
  registers: [registry],
});
export const deadLettersReplayed = new Counter({
  name: "deadletters_replayed_total",
  help: "Dead letters replayed, by outcome (handled, failed).",
  labelNames: ["outcome"],
  registers: [registry],
});
export const grpcRequests = new Counter({
  name: "grpc_requests_total",
  help: "gRPC calls served, by method and status code.",
  labelNames: ["method", "code"],
  registers: [registry],
});
export const grpcDuration = new Histogram({
  name: "grpc_request_duration_seconds",
  help: "How long gRPC calls took, by method.",
  labelNames: ["method"],
  buckets,
  registers: [registry],
});
