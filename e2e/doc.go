// Package e2e runs the whole shop — four apps beside real daprd sidecars, on real stores and a
// real broker — and checks the scenario and the invariants of the design against it.
//
// The tests run one after another. Each shop has its own ports, Redis, databases, vhost and
// logs, but in self-hosted mode daprd finds an app by its id over mDNS, which answers across
// every shop on the machine: two shops at once call each other's warehouse.
package e2e
