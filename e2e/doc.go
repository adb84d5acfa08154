// Package e2e runs the whole shop — four apps beside real daprd sidecars, on real stores and a
// real broker — and checks the scenario and the invariants of the design against it.
//
// The tests run one after another. Each shop has its own ports, Redis, databases, vhost, logs
// and the name resolution file its sidecars find each other in (TestShopsOnOneMachineStayApart).
package e2e
